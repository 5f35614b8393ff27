//! One JavaScript runtime on its own thread. Every call gets a fresh context (the natives
//! and the prelude, then the call's code), runs under the call's limits, and leaves nothing
//! behind: the context is dropped and the heap collected. A runtime whose call ran out of
//! memory is replaced before the next call.

use std::sync::Arc;

use edgebase_service::app::App;
use rquickjs::{CaughtError, Context, Ctx, Module, Runtime, WriteOptions};

use crate::bundle::Bundle;
use crate::error::HooksError;
use crate::limits::{CallLimits, LimitHit, Watchdog};
use crate::natives::{self, NativeEnv};

const PRELUDE: &str = include_str!("prelude.js");
/// Stack one call may use (QuickJS counts it itself; deep recursion throws a RangeError).
const STACK_BYTES: usize = 1 << 20;

/// What the calls of one bundle can reach, shared by every worker.
#[derive(Clone)]
pub struct Shared {
    pub app: Option<App>,
    pub http: Option<(tokio::runtime::Handle, reqwest::Client)>,
    /// The default action `e.next()` runs at the end of a request hook's chain (per call).
    pub next: Option<crate::natives::NextSlot>,
    pub bundle: Arc<Bundle>,
    pub hooks_dir: String,
    /// The hooks themselves, for the model hooks of a hook's own writes.
    pub hooks: Option<crate::Hooks>,
}

/// How a call ended when it did not return a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The code threw (its message and stack, as QuickJS reports them).
    Thrown(String),
    /// A limit stopped it.
    Limit(LimitHit),
    /// The engine could not run it.
    Engine(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Thrown(message) => write!(f, "{message}"),
            CallError::Limit(hit) => write!(f, "the hook was stopped: {hit}"),
            CallError::Engine(message) => write!(f, "the hooks engine failed: {message}"),
        }
    }
}

pub struct Worker {
    runtime: Runtime,
    watchdog: Watchdog,
    limits: CallLimits,
    /// The prelude compiled once to QuickJS bytecode (a module); each call's context loads
    /// and runs it instead of parsing the source again.
    prelude: Vec<u8>,
}

impl Worker {
    pub fn new(limits: CallLimits) -> Result<Worker, HooksError> {
        let watchdog = Watchdog::default();
        let runtime = new_runtime(&watchdog, limits)?;
        let prelude = compile_prelude(&runtime)?;
        Ok(Worker {
            runtime,
            watchdog,
            limits,
            prelude,
        })
    }

    /// Run `body` in a fresh context of `shared`'s bundle, under the limits. `body` gets the
    /// context with the natives and prelude in place; a thrown value comes back as text.
    pub fn call<T>(
        &mut self,
        shared: &Shared,
        body: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<T>,
    ) -> Result<T, CallError> {
        let env = NativeEnv {
            app: shared.app.clone(),
            http: shared.http.clone(),
            next: shared.next.clone(),
            bundle: Arc::clone(&shared.bundle),
            hooks_dir: shared.hooks_dir.clone(),
            hooks: shared.hooks.clone(),
            watchdog: self.watchdog.clone(),
        };
        self.watchdog.arm(self.limits);
        let outcome = match Context::full(&self.runtime) {
            Err(error) => Err(CallError::Engine(error.to_string())),
            Ok(context) => context.with(|ctx| {
                let result = natives::bind(&ctx, &env)
                    .and_then(|()| run_prelude(&ctx, &self.prelude))
                    .and_then(|()| body(&ctx));
                result.map_err(|error| {
                    CallError::Thrown(CaughtError::from_error(&ctx, error).to_string())
                })
            }),
        };
        self.runtime.run_gc();
        if let Err(CallError::Thrown(message)) = &outcome {
            if message.contains("out of memory") {
                self.watchdog.memory_exhausted();
            }
        }
        let hit = self.watchdog.disarm();
        match hit {
            Some(hit) => {
                if matches!(hit, LimitHit::Memory(_)) {
                    self.replace_runtime();
                }
                Err(CallError::Limit(hit))
            }
            None => outcome,
        }
    }

    /// Limits for the calls from now on (a nested call's wall clock is its outer call's
    /// time left).
    pub fn set_limits(&mut self, limits: CallLimits) {
        self.limits = limits;
    }

    /// A runtime that hit its memory limit may hold garbage it could not free; start over.
    fn replace_runtime(&mut self) {
        match new_runtime(&self.watchdog, self.limits) {
            Ok(runtime) => self.runtime = runtime,
            Err(error) => tracing::error!(%error, "replace a JavaScript runtime"),
        }
        match compile_prelude(&self.runtime) {
            Ok(prelude) => self.prelude = prelude,
            Err(error) => tracing::error!(%error, "compile the prelude"),
        }
    }
}

const PRELUDE_NAME: &str = "edgebase:prelude";

/// The prelude as module bytecode, compiled in a throwaway context of `runtime`.
fn compile_prelude(runtime: &Runtime) -> Result<Vec<u8>, HooksError> {
    let context = Context::full(runtime).map_err(|error| HooksError::Runtime(error.to_string()))?;
    context.with(|ctx| {
        Module::declare(ctx.clone(), PRELUDE_NAME, PRELUDE)
            .and_then(|module| module.write(WriteOptions::default()))
            .map_err(|error| {
                HooksError::Runtime(format!(
                    "compile the prelude: {}",
                    CaughtError::from_error(&ctx, error)
                ))
            })
    })
}

/// Run the compiled prelude in `ctx`.
fn run_prelude(ctx: &Ctx<'_>, bytecode: &[u8]) -> rquickjs::Result<()> {
    // SAFETY: the bytes were written by `compile_prelude` from our own source, by this
    // runtime's QuickJS version.
    let module = unsafe { Module::load(ctx.clone(), bytecode)? };
    let (_, evaluated) = module.eval()?;
    evaluated.finish::<()>()
}

fn new_runtime(watchdog: &Watchdog, limits: CallLimits) -> Result<Runtime, HooksError> {
    let runtime = Runtime::new().map_err(|error| HooksError::Runtime(error.to_string()))?;
    runtime.set_memory_limit(limits.memory_bytes);
    runtime.set_max_stack_size(STACK_BYTES);
    let watchdog = watchdog.clone();
    runtime.set_interrupt_handler(Some(Box::new(move || watchdog.should_interrupt())));
    Ok(runtime)
}
