//! `POST /api/collections/{c}/auth-with-oauth2`: a provider's authorization code (and PKCE
//! verifier) to a token. The node exchanges the code, fetches the provider's user, then logs
//! in the record linked to that user in `_externalAuths`, else the caller's own record, else
//! the record with the user's verified email, else creates one (through the collection's
//! create rule, with `createData` and the mapped fields). The record's changes and the new
//! link are proposed as one command, so every replica applies all of it or none.

use edgebase_model::record_values::text;
use edgebase_model::ValidationCode;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use edgebase_client::wire::FieldKind;
use edgebase_model::oauth2_providers::UserClaims;
use edgebase_realtime::Hub;
use edgebase_storage::query::{
    CompareKind, CompareOp, Expr, FilterAccess, FilterPart, ListRequest, Modifier, Operand,
    Path as FieldPath, PathRoot,
};
use edgebase_storage::{Command, CommandResult, Rejection};
use serde_json::{json, Map, Value};

use crate::auth::check_auth_rule;
use crate::auth::mfa::{self, requested_mfa_id, MfaStep, METHOD_OAUTH2};
use crate::auth::oauth2_avatar;
use crate::auth::sign_for;
use crate::auth::sign_in::SignIn;
use crate::consistency::with_index;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use crate::idempotency;
use edgebase_auth::oauth2_client::{self, OAuth2User};
use edgebase_auth::token::Refresh;
use edgebase_model::auth_config::OAuth2Options;
use edgebase_model::fields::file::Uploads;
use edgebase_model::ids;
use edgebase_model::oauth2_providers::{self, ProviderConfig};
use edgebase_model::record_values::NO_UPLOADS;
use edgebase_model::record_values::{public_record, Document};
use edgebase_service::app::{App, LoadedCollection, Settled};
use edgebase_service::auth_alert::note_login;
use edgebase_service::caller::Caller;
use edgebase_service::external_auths::EXTERNAL_AUTHS_NAME;
use edgebase_service::files;
use edgebase_service::principal::Principal;
use edgebase_service::record_writes::{decode, Pending, Planned, Planner, Verdict};
use edgebase_service::superusers;

/// Length of the random password a record created or taken over by OAuth2 gets
/// (PocketBase's 30).
const RANDOM_PASSWORD_LENGTH: usize = 30;
/// Longest the provider's part of a login (code exchange and user lookup) may take.
const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// `@request.context` of the rules an OAuth2 login evaluates (the sign-up's create rule, the
/// authRule), as PocketBase's.
const OAUTH2_CONTEXT: &str = "oauth2";
const LOAD_FAILED: &str = "An error occurred while loading the submitted data.";

/// The request body, as PocketBase's form reads it.
#[derive(Debug, Default)]
struct LoginForm {
    provider: String,
    code: String,
    code_verifier: String,
    redirect_url: String,
    create_data: Map<String, Value>,
}

impl LoginForm {
    /// Read the body; a value of the wrong type is PocketBase's load error.
    fn read(input: &Map<String, Value>) -> Result<LoginForm, ApiError> {
        let text = |key: &str| -> Result<String, ApiError> {
            match input.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(text)) => Ok(text.clone()),
                Some(_) => Err(ApiError::bad_request(LOAD_FAILED)),
            }
        };
        let create_data = match input.get("createData") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data.clone(),
            Some(_) => return Err(ApiError::bad_request(LOAD_FAILED)),
        };
        let mut redirect_url = text("redirectURL")?;
        if redirect_url.is_empty() {
            // The pre-0.23 spelling PocketBase still reads.
            redirect_url = text("redirectUrl")?;
        }
        Ok(LoginForm {
            provider: text("provider")?,
            code: text("code")?,
            code_verifier: text("codeVerifier")?,
            redirect_url,
            create_data,
        })
    }

    /// PocketBase's checks: provider required and configured, code required.
    fn errors(&self, options: &OAuth2Options) -> FieldErrors {
        let mut errors = FieldErrors::new();
        if self.provider.is_empty() {
            errors.insert(
                "provider".into(),
                field_error(ValidationCode::Required, "Cannot be blank.", None),
            );
        } else if oauth2_providers::entry(options, &self.provider).is_none() {
            errors.insert(
                "provider".into(),
                field_error(
                    ValidationCode::InvalidProvider,
                    // PocketBase 0.40.6 names the provider without quotes.
                    format!(
                        "Provider with name {} is missing or is not enabled.",
                        self.provider
                    ),
                    Some(json!({ "name": self.provider })),
                ),
            );
        }
        if self.code.is_empty() {
            errors.insert(
                "code".into(),
                field_error(ValidationCode::Required, "Cannot be blank.", None),
            );
        }
        errors
    }
}

fn oauth2_enabled(loaded: &LoadedCollection) -> bool {
    loaded.auth.oauth2.enabled
}

/// The first record of `collection_id` whose fields equal the given values.
fn find_one(
    app: &App,
    caller: &Caller,
    collection_id: &str,
    matches: &[(&str, &str)],
) -> Result<Option<Document>, ApiError> {
    let page = app.state().list_records(&ListRequest::matching(
        collection_id.to_string(),
        matches
            .iter()
            .map(|(field, value)| FilterPart::field_equals(field, value))
            .collect(),
        1,
        caller.context(&Map::new()),
        app.limits().records_examined_max,
    ))?;
    Ok(page.records.first().map(decode).transpose()?)
}

/// The caller the node's own writes run as (the link record and the verified flag, which
/// PocketBase sets from inside, past the collection's rules).
fn internal_caller() -> Caller {
    Caller::system(OAUTH2_CONTEXT)
}

/// The planned login: every plan (proposed together), the record to log in, whether it is new.
struct Login {
    plans: Vec<Planned>,
    doc: Document,
    is_new: bool,
}

impl Login {
    fn commands(&self) -> Vec<Command> {
        self.plans
            .iter()
            .flat_map(|plan| plan.commands.clone())
            .collect()
    }

    /// The answer to a login whose last attempt was rejected: the first plan that failed for
    /// good says why (a validation failure is PocketBase's generic one), else the race was
    /// lost too often.
    fn failure(&self, rejection: &Rejection) -> ApiError {
        let failed = self
            .plans
            .iter()
            .find_map(|plan| match plan.verdict(rejection) {
                Verdict::Failed(error) => Some(ApiError::from(error)),
                Verdict::Stale => None,
            });
        match failed {
            Some(error) if error.status == StatusCode::BAD_REQUEST => {
                ApiError::bad_request("Failed to authenticate.")
            }
            Some(error) => error,
            None => ApiError::unavailable(LOGIN_CONFLICT),
        }
    }
}

/// Raced too often by other writes to the same records.
const LOGIN_CONFLICT: &str = "The record changed concurrently too many times; retry.";

/// Plan the login and, when it writes anything, propose it through `propose_planned`:
/// whatever raced it (another login of the same provider user linking first, a sign-up
/// taking the email) is seen by planning again. A login that writes nothing (a linked user
/// signing in) proposes nothing; a re-plan that finds nothing left to write still proposes
/// its empty batch, so the answer's index covers the write that raced it.
async fn propose_login(app: &App, flow: &Flow<'_>) -> Result<(Login, Option<u64>), ApiError> {
    let first = flow.plan().await?;
    if first.plans.iter().all(|plan| plan.commands.is_empty()) {
        return Ok((first, None));
    }
    let mut first = Some(first);
    let mut attempts_left = app.limits().write_attempts_max;
    app.propose_planned(
        LOGIN_CONFLICT,
        || {
            let ready = first.take();
            async move {
                let login = match ready {
                    Some(login) => login,
                    None => flow.plan().await?,
                };
                Ok((Command::Batch(login.commands()), login))
            }
        },
        |login, outcome| {
            attempts_left = attempts_left.saturating_sub(1);
            match outcome.result {
                CommandResult::Applied { .. } => Ok(Settled::Done((login, Some(outcome.index)))),
                CommandResult::Rejected(rejection) if attempts_left > 0 => {
                    tracing::debug!(?rejection, "OAuth2 login raced a write; planning again");
                    Ok(Settled::Replan)
                }
                CommandResult::Rejected(rejection) => {
                    tracing::info!(?rejection, "OAuth2 login rejected");
                    Err(login.failure(&rejection))
                }
            }
        },
    )
    .await
}

struct Flow<'a> {
    app: &'a App,
    loaded: &'a LoadedCollection,
    external_auths: &'a LoadedCollection,
    caller: &'a Caller,
    provider: &'a str,
    user: &'a OAuth2User,
    create_data: &'a Map<String, Value>,
    /// The avatar a new record gets, downloaded once however often the login is planned.
    avatar: tokio::sync::OnceCell<Uploads>,
}

impl Flow<'_> {
    /// The record to log in before any change: linked, the caller's own, or by email.
    fn existing(&self, link: Option<&Document>) -> Result<Option<Document>, ApiError> {
        let collection_id = &self.loaded.collection.id;
        if let Some(link) = link {
            if let Some(doc) = self
                .app
                .auth_record(collection_id, &text(link, "recordRef"))?
            {
                return Ok(Some((*doc).clone()));
            }
        }
        if let Principal::Record {
            collection_id: c,
            id,
        } = self.caller.principal()
        {
            if c == collection_id {
                if let Some(doc) = self.app.auth_record(collection_id, id)? {
                    return Ok(Some((*doc).clone()));
                }
            }
        }
        if !self.user.email.is_empty() {
            return self.find_by_email();
        }
        Ok(None)
    }

    /// The record with the provider's email, compared without ASCII case when the email's
    /// unique index is `COLLATE NOCASE` (PocketBase's `FindAuthRecordByEmail`).
    fn find_by_email(&self) -> Result<Option<Document>, ApiError> {
        let collection = &self.loaded.collection;
        let case_insensitive =
            edgebase_model::auth_options::single_column_unique_index(collection, "email")
                == Some(true);
        let (modifier, email) = if case_insensitive {
            (Some(Modifier::Lower), self.user.email.to_ascii_lowercase())
        } else {
            (None, self.user.email.clone())
        };
        let expr = Expr::Compare {
            left: Operand::Path(FieldPath {
                root: PathRoot::Record,
                segments: vec!["email".into()],
                modifier,
            }),
            op: CompareOp {
                kind: CompareKind::Eq,
                any_of: false,
            },
            right: Operand::Text(email),
        };
        let page = self.app.state().list_records(&ListRequest::matching(
            collection.id.clone(),
            vec![FilterPart::new(expr, FilterAccess::Unrestricted)],
            1,
            self.caller.context(&Map::new()),
            self.app.limits().records_examined_max,
        ))?;
        Ok(page.records.first().map(decode).transpose()?)
    }

    /// The create body: `createData`, the provider's email, a random password unless one
    /// was given, and the mapped fields not given explicitly.
    fn create_body(&self) -> Result<Map<String, Value>, ApiError> {
        let collection = &self.loaded.collection;
        let mut body = self.create_data.clone();
        body.insert("email".into(), json!(self.user.email));
        if body
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            let password = ids::new_secret(RANDOM_PASSWORD_LENGTH);
            body.insert("password".into(), json!(password));
            body.insert("passwordConfirm".into(), json!(password));
        }
        let mapped = |key: &str| self.loaded.auth.oauth2.mapped_fields.get(key).to_string();
        for (key, value) in [("id", &self.user.id), ("name", &self.user.name)] {
            let field = mapped(key);
            if !field.is_empty() && !body.contains_key(&field) {
                body.insert(field, json!(value));
            }
        }
        let username_field = mapped("username");
        if !username_field.is_empty()
            && !body.contains_key(&username_field)
            && !self.user.username.is_empty()
            && collection.field(&username_field).is_some_and(|field| {
                matches!(field.kind, FieldKind::Text { .. })
            })
            // A taken username is left out rather than failing the login, as PocketBase.
            && find_one(
                self.app,
                &internal_caller(),
                &collection.id,
                &[(&username_field, &self.user.username)],
            )?
            .is_none()
        {
            body.insert(username_field, json!(self.user.username));
        }
        let avatar_field = mapped("avatarURL");
        if !avatar_field.is_empty()
            && !body.contains_key(&avatar_field)
            && !self.user.avatar_url.is_empty()
        {
            match collection.field(&avatar_field).map(|field| &field.kind) {
                // A file field takes the downloaded avatar as an upload (`avatar_uploads`).
                Some(FieldKind::File { .. }) => {}
                Some(_) => {
                    body.insert(avatar_field, json!(self.user.avatar_url));
                }
                None => {}
            }
        }
        Ok(body)
    }

    /// The provider's avatar for a new record, when `avatarURL` is mapped to a file field
    /// that the create data does not set.
    async fn avatar_uploads(&self) -> Uploads {
        let field_name = self.loaded.auth.oauth2.mapped_fields.get("avatarURL");
        let field = self.loaded.collection.field(field_name);
        match field {
            Some(field)
                if matches!(field.kind, FieldKind::File { .. })
                    && !self.user.avatar_url.is_empty()
                    && !self.create_data.contains_key(field_name) =>
            {
                oauth2_avatar::avatar_uploads(self.app, field, &self.user.avatar_url).await
            }
            _ => Uploads::new(),
        }
    }

    async fn plan(&self) -> Result<Login, ApiError> {
        let collection = &self.loaded.collection;
        let link = find_one(
            self.app,
            &internal_caller(),
            &self.external_auths.collection.id,
            &[
                ("collectionRef", &collection.id),
                ("provider", self.provider),
                ("providerId", &self.user.id),
            ],
        )?;
        let existing = self.existing(link.as_ref())?;
        let mut pending = Pending::default();
        let mut plans = Vec::new();
        // A link whose record is gone (deleted since) is dropped and made anew, in the
        // same batch, rather than locking the provider user out.
        let link = match link {
            Some(stale)
                if existing.as_ref().map(|doc| text(doc, "id"))
                    != Some(text(&stale, "recordRef")) =>
            {
                let planner = Planner {
                    app: self.app,
                    caller: &internal_caller(),
                    pending: &pending,
                    uploads: &NO_UPLOADS,
                    precondition: None,
                };
                let planned = planner
                    .delete(self.external_auths, &text(&stale, "id"))
                    .await?;
                pending.absorb(&planned);
                plans.push(planned);
                None
            }
            link => link,
        };
        let internal = internal_caller();
        let is_new = existing.is_none();
        let mut doc = match existing {
            Some(doc) => doc,
            None => {
                if collection.name == superusers::SUPERUSERS_NAME {
                    tracing::warn!("refused an OAuth2 sign-up into _superusers");
                    return Err(ApiError::bad_request("Failed to authenticate."));
                }
                let uploads = self.avatar.get_or_init(|| self.avatar_uploads()).await;
                let planner = Planner {
                    app: self.app,
                    caller: self.caller,
                    pending: &pending,
                    uploads,
                    precondition: None,
                };
                let planned = planner.create(self.loaded, &self.create_body()?).await?;
                files::replicate_uploads(self.app, &planned, uploads).await?;
                let doc = planned_doc(&planned)?;
                pending.absorb(&planned);
                plans.push(planned);
                doc
            }
        };
        let mut changes = Map::new();
        let email = text(&doc, "email");
        let verified = doc.get("verified").and_then(Value::as_bool) == Some(true);
        let id = text(&doc, "id");
        if !is_new {
            // Someone who signed up with this email unverified must not keep a password
            // that the email's owner never chose.
            if !self.caller.is_record(&collection.id, &id) && !email.is_empty() && !verified {
                let password = ids::new_secret(RANDOM_PASSWORD_LENGTH);
                changes.insert("password".into(), json!(password));
                changes.insert("passwordConfirm".into(), json!(password));
            }
        }
        let mut effective_email = email.clone();
        if !is_new && email.is_empty() && !self.user.email.is_empty() {
            changes.insert("email".into(), json!(self.user.email));
            effective_email = self.user.email.clone();
        }
        let mark_verified = if is_new {
            effective_email == self.user.email && !verified
        } else {
            !verified && (effective_email.is_empty() || effective_email == self.user.email)
        };
        if mark_verified {
            changes.insert("verified".into(), json!(true));
        }
        if !changes.is_empty() {
            let planner = Planner {
                app: self.app,
                caller: &internal,
                pending: &pending,
                uploads: &NO_UPLOADS,
                precondition: None,
            };
            let planned = planner.update(self.loaded, &id, &changes).await?;
            doc = planned_doc(&planned)?;
            pending.absorb(&planned);
            plans.push(planned);
        }
        if link.is_none() {
            let planner = Planner {
                app: self.app,
                caller: &internal,
                pending: &pending,
                uploads: &NO_UPLOADS,
                precondition: None,
            };
            let body = json!({
                "collectionRef": collection.id,
                "recordRef": id,
                "provider": self.provider,
                "providerId": self.user.id,
            });
            let body = body.as_object().cloned().unwrap_or_default();
            let planned = planner
                .create(self.external_auths, &body)
                .await
                .map_err(|error| {
                    tracing::info!(%error, provider = self.provider, "OAuth2 link refused");
                    ApiError::bad_request("Failed to authenticate.")
                })?;
            plans.push(planned);
        }
        Ok(Login { plans, doc, is_new })
    }
}

fn planned_doc(planned: &Planned) -> Result<Document, ApiError> {
    planned
        .effects
        .first()
        .and_then(|effect| effect.doc.clone())
        .ok_or_else(ApiError::internal)
}

pub async fn auth_with_oauth2(
    Extension(hub): Extension<Hub>,
    sign_in: SignIn,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    // Keyed, a retry (whose code the provider no longer takes) gets the first answer.
    let app = sign_in.app.clone();
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &sign_in.uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = auth_with_oauth2_once(hub, sign_in, &body).await;
    idempotency::keep_login_answer(&app, keyed.as_ref(), outcome).await
}

/// The login itself (its key, if any, checked already).
async fn auth_with_oauth2_once(
    hub: Hub,
    sign_in: SignIn,
    body: &[u8],
) -> Result<Response, ApiError> {
    let SignIn {
        app,
        loaded,
        caller,
        client,
        uri,
    } = sign_in;
    if !oauth2_enabled(&loaded) {
        return Err(ApiError::forbidden(
            "The collection is not configured to allow OAuth2 authentication.",
        ));
    }
    let caller = caller.in_context(OAUTH2_CONTEXT);
    let input = json_object(body).map_err(|_| ApiError::bad_request(LOAD_FAILED))?;
    let form = LoginForm::read(&input)?;
    let errors = form.errors(&loaded.auth.oauth2);
    if !errors.is_empty() {
        return Err(ApiError::validation(LOAD_FAILED, errors));
    }
    let config = oauth2_providers::entry(&loaded.auth.oauth2, &form.provider)
        .and_then(ProviderConfig::from_option)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to init provider {}", form.provider),
            )
        })?;
    let verifier = config.pkce.then_some(form.code_verifier.as_str());
    // PocketBase gives the exchange and the user lookup 30 s together.
    let provider_steps = async {
        let token = oauth2_client::exchange_code(&config, &form.code, &form.redirect_url, verifier)
            .await
            .map_err(|error| {
                tracing::info!(%error, provider = form.provider, "OAuth2 code exchange failed");
                ApiError::bad_request("Failed to fetch OAuth2 token.")
            })?;
        oauth2_client::fetch_user(&config, &token)
            .await
            .map_err(|error| {
                tracing::info!(%error, provider = form.provider, "OAuth2 user fetch failed");
                ApiError::bad_request("Failed to fetch OAuth2 user.")
            })
    };
    let mut user = tokio::time::timeout(PROVIDER_TIMEOUT, provider_steps)
        .await
        .map_err(|_| {
            tracing::info!(provider = form.provider, "OAuth2 provider too slow");
            ApiError::bad_request("Failed to fetch OAuth2 token.")
        })??;
    // Apple gives the user's name only with its first redirect, which some node kept.
    if config.kind.claims == UserClaims::Apple && user.name.is_empty() {
        match hub.take_apple_name(&form.code).await {
            Some(name) => user.name = name,
            None => tracing::debug!("no Apple user's name kept for this login"),
        }
    }
    let external_auths = app.collection(EXTERNAL_AUTHS_NAME)?.ok_or_else(|| {
        tracing::error!("the _externalAuths collection is missing");
        ApiError::internal()
    })?;
    let flow = Flow {
        app: &app,
        loaded: &loaded,
        external_auths: &external_auths,
        caller: &caller,
        provider: &form.provider,
        user: &user,
        create_data: &form.create_data,
        avatar: tokio::sync::OnceCell::new(),
    };
    let (login, index) = propose_login(&app, &flow).await?;
    check_auth_rule(&app, &loaded, &login.doc, &caller)?;
    // With MFA on, OAuth2 is one factor: the first answers 401 with an `mfaId`, the
    // second (another method, or this one after another) completes the login.
    let mfa_id = requested_mfa_id(&uri, &input);
    if let MfaStep::Required(id) =
        mfa::check(&app, &loaded, &login.doc, &caller, METHOD_OAUTH2, &mfa_id).await?
    {
        let response = (StatusCode::UNAUTHORIZED, Json(json!({ "mfaId": id }))).into_response();
        return Ok(match index {
            Some(index) => with_index(response, index),
            None => response,
        });
    }
    // A login from a device the record has not used before mails the auth alert.
    note_login(&app, &loaded, &login.doc, &client);
    let token = sign_for(
        &loaded,
        &login.doc,
        loaded.auth.auth_token_duration_secs(),
        Refresh::Allowed,
    )?;
    let body = json!({
        "token": token,
        "record": public_record(&loaded.collection, &login.doc, caller.is_superuser()),
        "meta": user.meta(login.is_new),
    });
    let response = Json(body).into_response();
    Ok(match index {
        Some(index) => with_index(response, index),
        None => response,
    })
}
