//! Who is asking and how: the principal, its auth record, and the request data rules may
//! read (`@request.*`), gathered once per request.

use std::sync::Arc;

use edgebase_storage::query::{FilterAccess, RequestContext, RuleSubject};
use edgebase_wire::{Collection, CollectionType};
use serde_json::{json, Map, Value};

use crate::app::{App, LoadedCollection};
use crate::error::ServiceError;
use crate::principal::{self, Principal};
use crate::work_budget::WorkBudget;
use edgebase_model::record_values::{self, Document};

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    principal: Principal,
    /// The authenticated record, as `@request.auth` shows it to rules.
    auth: Option<Map<String, Value>>,
    query: Map<String, Value>,
    headers: Map<String, Value>,
    method: String,
    /// `@request.context`: `default`, or the auth method a write runs inside (`oauth2`).
    request_context: &'static str,
    /// The records this request may still examine, across all its reads.
    budget: WorkBudget,
}

/// Records the node's own writes may examine (they read a record or two by id).
const SYSTEM_RECORDS_EXAMINED_MAX: u64 = 100_000;

impl Caller {
    /// The caller behind `raw_token` (anonymous when it is missing, invalid, expired or
    /// revoked), with the request's query parameters, headers (names lower-cased, `-` as
    /// `_`, as rules name them) and method.
    pub fn resolve(
        app: &App,
        raw_token: Option<&str>,
        query: Map<String, Value>,
        headers: Map<String, Value>,
        method: &str,
    ) -> Result<Caller, ServiceError> {
        let verified = match raw_token {
            Some(raw) => principal::verified(app, raw)?,
            None => None,
        };
        Self::identified(app, verified, query, headers, method)
    }

    /// The caller a protected file's `?token=` names: a file token (`POST /api/files/token`)
    /// and nothing else; anonymous when it is missing or does not verify.
    pub fn resolve_file_token(
        app: &App,
        raw_token: Option<&str>,
        query: Map<String, Value>,
        headers: Map<String, Value>,
        method: &str,
    ) -> Result<Caller, ServiceError> {
        let verified = match raw_token {
            Some(raw) => principal::verified_file_token(app, raw)?,
            None => None,
        };
        Self::identified(app, verified, query, headers, method)
    }

    fn identified(
        app: &App,
        verified: Option<(Principal, Arc<Document>)>,
        query: Map<String, Value>,
        headers: Map<String, Value>,
        method: &str,
    ) -> Result<Caller, ServiceError> {
        let (principal, auth) = match verified {
            Some((principal, doc)) => {
                let auth = auth_fields(app, &principal, &doc)?;
                (principal, auth)
            }
            None => (Principal::Anonymous, None),
        };
        Ok(Caller {
            principal,
            auth,
            query,
            headers,
            method: method.to_string(),
            request_context: "default",
            budget: WorkBudget::new(app.limits().records_examined_max),
        })
    }

    /// This caller with another request's query parameters, headers and method (a realtime
    /// subscription's options, for each event), and a fresh work budget.
    pub fn with_request_data(
        &self,
        app: &App,
        query: Map<String, Value>,
        headers: Map<String, Value>,
        method: &str,
    ) -> Caller {
        Caller {
            principal: self.principal.clone(),
            auth: self.auth.clone(),
            query,
            headers,
            method: method.to_string(),
            request_context: self.request_context,
            budget: WorkBudget::new(app.limits().records_examined_max),
        }
    }

    /// This caller inside `request_context` (`@request.context`, such as `oauth2`).
    pub fn in_context(self, request_context: &'static str) -> Caller {
        Caller {
            request_context,
            ..self
        }
    }

    /// Who is asking.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// `@request.context`: `default`, or the auth method a write runs inside.
    pub fn request_context(&self) -> &'static str {
        self.request_context
    }

    /// The work this request may still do, shared by every read made for it.
    pub fn budget(&self) -> &WorkBudget {
        &self.budget
    }

    /// The node itself as a caller, inside `request_context` (`@request.context`): for the
    /// writes PocketBase makes past the collections' rules.
    pub fn system(request_context: &'static str) -> Caller {
        Caller {
            principal: Principal::system(),
            auth: None,
            query: Map::new(),
            headers: Map::new(),
            method: "POST".into(),
            request_context,
            budget: WorkBudget::new(SYSTEM_RECORDS_EXAMINED_MAX),
        }
    }

    /// PocketBase refuses `@collection.` and `@request.` in a non-superuser's `filter` or
    /// `sort` (a loose text check, as PocketBase's).
    pub fn check_query_fields(&self) -> Result<(), ServiceError> {
        if self.is_superuser() {
            return Ok(());
        }
        for param in ["filter", "sort"] {
            let Some(Value::String(text)) = self.query.get(param) else {
                continue;
            };
            for field in ["@collection.", "@request."] {
                if text.contains(field) {
                    return Err(ServiceError::forbidden(format!(
                        "Only superusers can filter by {field}"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn is_superuser(&self) -> bool {
        self.principal.is_superuser()
    }

    /// Whether the caller is the auth record `record_id` of collection `collection_id`.
    pub fn is_record(&self, collection_id: &str, record_id: &str) -> bool {
        matches!(&self.principal, Principal::Record { collection_id: c, id } if c == collection_id && id == record_id)
    }

    /// A record as this caller may see it: hidden fields for superusers only, and an auth
    /// record's email only to superusers, to the record itself, or when `emailVisibility`
    /// is on (PocketBase's rule).
    pub fn shown(&self, collection: &Collection, doc: &Document) -> Map<String, Value> {
        let mut record = record_values::public_record(collection, doc, self.is_superuser());
        if collection.kind == CollectionType::Auth && !self.is_superuser() {
            let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
            let visible = doc.get("emailVisibility").and_then(Value::as_bool) == Some(true);
            if !visible && !self.is_record(&collection.id, id) {
                record.remove("email");
            }
        }
        record
    }

    /// [`Caller::shown`], and an auth record's email also to a caller the collection's
    /// manageRule admits for that record (PocketBase checks it for lists and views too).
    pub fn shown_checked(
        &self,
        app: &App,
        loaded: &LoadedCollection,
        doc: &Document,
    ) -> Result<Map<String, Value>, ServiceError> {
        let collection = &loaded.collection;
        let mut record = self.shown(collection, doc);
        let hidden_email = collection.kind == CollectionType::Auth
            && !record.contains_key("email")
            && doc.contains_key("email");
        if !hidden_email || self.auth.is_none() {
            return Ok(record);
        }
        let Some(filter) = crate::rules::filter_of(&loaded.rules().manage) else {
            return Ok(record);
        };
        let id = edgebase_model::record_values::text(doc, "id");
        let filters = [filter];
        let subject = RuleSubject::Document {
            collection_id: &collection.id,
            id: &id,
            doc,
        };
        let context = self.context(&Map::new());
        let check = self.budget.run(|allowance| {
            app.state()
                .check_record(subject, &filters, &context, allowance)
        })?;
        if check.matched {
            record = record_values::public_record(collection, doc, false);
        }
        Ok(record)
    }

    /// Whether the caller's own filters and sorts may name hidden fields.
    pub fn filter_access(&self) -> FilterAccess {
        if self.is_superuser() {
            FilterAccess::Unrestricted
        } else {
            FilterAccess::Restricted
        }
    }

    /// The data rules and filters read, with `body` as `@request.body` and the clock read
    /// now (evaluation itself never reads it).
    pub fn context(&self, body: &Map<String, Value>) -> RequestContext {
        RequestContext {
            auth: self.auth.clone(),
            body: body.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            method: self.method.clone(),
            context: self.request_context.into(),
            now_unix_ms: chrono::Utc::now().timestamp_millis(),
        }
    }
}

/// The auth record as rules see it: every field (hidden ones too, as PocketBase exposes the
/// whole auth record to rules) plus `collectionId` and `collectionName`, without secrets.
fn auth_fields(
    app: &App,
    principal: &Principal,
    doc: &Arc<Document>,
) -> Result<Option<Map<String, Value>>, ServiceError> {
    let collection_id = match principal {
        Principal::Anonymous => return Ok(None),
        Principal::System(_) => return Ok(None),
        Principal::Superuser { .. } => crate::superusers::superusers_id(),
        Principal::Record { collection_id, .. } => collection_id.clone(),
    };
    let Some(loaded) = app.collection(&collection_id)? else {
        return Ok(None);
    };
    let mut auth = record_values::public_record(&loaded.collection, doc, true);
    auth.insert("collectionId".into(), json!(loaded.collection.id));
    auth.insert("collectionName".into(), json!(loaded.collection.name));
    Ok(Some(auth))
}
