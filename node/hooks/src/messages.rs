//! `$app.sendMessage({kind, to, ...})` (EdgeBase's): a hook accepts a push, email or SMS
//! into the messaging outbox as `POST /api/messages` does, as the server (no superuser
//! needed), and gets the accepted message back; a refusal throws PocketBase's error.

use rquickjs::{Ctx, Exception, Function, Object};
use serde_json::{json, Map, Value as Json};

use edgebase_messaging::send::Acceptance;

use crate::natives::NativeEnv;
use crate::writes::failure_of_service;

pub fn bind<'js>(ctx: &Ctx<'js>, native: &Object<'js>, env: &NativeEnv) -> rquickjs::Result<()> {
    let sender = match (&env.app, &env.http) {
        (Some(app), Some((runtime, _))) => Some((app.clone(), runtime.clone())),
        _ => None,
    };
    let watchdog = env.watchdog.clone();
    native.set(
        "sendMessage",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, message: String| -> rquickjs::Result<String> {
                let Some((app, runtime)) = &sender else {
                    return Err(Exception::throw_message(
                        &ctx,
                        "messages cannot be sent here",
                    ));
                };
                let body: Map<String, Json> = serde_json::from_str(&message)
                    .map_err(|_| Exception::throw_message(&ctx, "sendMessage takes an object"))?;
                let accepted = crate::blocking::wait_within(
                    runtime,
                    &watchdog,
                    edgebase_messaging::send::accept(app, &body, None),
                );
                let answer = match accepted {
                    Some(Ok(Acceptance::Accepted(accepted))) => {
                        json!({ "message": accepted.message.view() })
                    }
                    // Only a keyed request meets a used key; a hook's has none.
                    Some(Ok(Acceptance::KeyUsed)) => {
                        return Err(Exception::throw_internal(
                            &ctx,
                            "the message's key was used",
                        ))
                    }
                    Some(Err(error)) => json!({ "failure": failure_of_service(error) }),
                    None => {
                        return Err(Exception::throw_internal(
                            &ctx,
                            "interrupted: the call ran out of time",
                        ))
                    }
                };
                Ok(answer.to_string())
            },
        )?,
    )?;
    Ok(())
}
