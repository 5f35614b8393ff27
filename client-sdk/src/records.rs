//! `Records`: `/api/collections/{collection}/records`.

use reqwest::Method;
use serde::Serialize;

use crate::client::{encode, Client};
use crate::error::ClientError;
use crate::wire::{ListResult, Record};

/// Whether a list answer counts all matching records (`totalItems`, `totalPages`) or skips
/// that work and reports `-1` (PocketBase's `skipTotal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Totals {
    #[default]
    Count,
    Skip,
}

/// The records of one collection through one client; get it with `Client::records`.
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    client: &'a Client,
    collection: &'a str,
}

impl<'a> Records<'a> {
    pub(crate) fn new(client: &'a Client, collection: &'a str) -> Self {
        Records { client, collection }
    }

    /// Create a record from a JSON object of field values (an `id` may be supplied).
    pub async fn create<B: Serialize + ?Sized>(&self, body: &B) -> Result<Record, ClientError> {
        let body = encode(body)?;
        self.client
            .send_json(Method::POST, &self.path(None), &[], Some(body))
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Record, ClientError> {
        self.client
            .send_json(Method::GET, &self.path(Some(id)), &[], None)
            .await
    }

    /// Change the fields named in `body`.
    pub async fn update<B: Serialize + ?Sized>(
        &self,
        id: &str,
        body: &B,
    ) -> Result<Record, ClientError> {
        let body = encode(body)?;
        self.client
            .send_json(Method::PATCH, &self.path(Some(id)), &[], Some(body))
            .await
    }

    pub async fn delete(&self, id: &str) -> Result<(), ClientError> {
        self.client
            .send_empty(Method::DELETE, &self.path(Some(id)), None)
            .await
    }

    /// One page (1-based) of records.
    pub async fn list(
        &self,
        page: u64,
        per_page: u64,
        totals: Totals,
    ) -> Result<ListResult<Record>, ClientError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("perPage", per_page.to_string()),
        ];
        if totals == Totals::Skip {
            query.push(("skipTotal", "1".to_owned()));
        }
        self.client
            .send_json(Method::GET, &self.path(None), &query, None)
            .await
    }

    fn path(&self, id: Option<&'a str>) -> Vec<&'a str> {
        let mut segments = vec!["api", "collections", self.collection, "records"];
        segments.extend(id);
        segments
    }
}
