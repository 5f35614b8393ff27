//! `Collections`: `/api/collections` (superuser only).

use reqwest::Method;
use serde::Serialize;

use crate::client::{encode, Client};
use crate::error::ClientError;
use crate::wire::{Collection, ListResult};

/// Collection management through one client; get it with `Client::collections`.
#[derive(Debug, Clone, Copy)]
pub struct Collections<'a> {
    client: &'a Client,
}

impl<'a> Collections<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Collections { client }
    }

    /// One page of collections, system collections included.
    pub async fn list(
        &self,
        page: u64,
        per_page: u64,
    ) -> Result<ListResult<Collection>, ClientError> {
        let query = [
            ("page", page.to_string()),
            ("perPage", per_page.to_string()),
        ];
        self.client
            .send_json(Method::GET, &["api", "collections"], &query, None)
            .await
    }

    pub async fn get(&self, id_or_name: &str) -> Result<Collection, ClientError> {
        self.client
            .send_json(Method::GET, &["api", "collections", id_or_name], &[], None)
            .await
    }

    /// Create a collection from a `Collection` or any JSON of its shape (a
    /// `serde_json::Value` with just `name`, `type` and `fields` is enough).
    pub async fn create<B: Serialize + ?Sized>(&self, body: &B) -> Result<Collection, ClientError> {
        let body = encode(body)?;
        self.client
            .send_json(Method::POST, &["api", "collections"], &[], Some(body))
            .await
    }

    /// Change a collection; `body` holds the keys to change.
    pub async fn update<B: Serialize + ?Sized>(
        &self,
        id_or_name: &str,
        body: &B,
    ) -> Result<Collection, ClientError> {
        let body = encode(body)?;
        self.client
            .send_json(
                Method::PATCH,
                &["api", "collections", id_or_name],
                &[],
                Some(body),
            )
            .await
    }

    /// Delete a collection and all its records.
    pub async fn delete(&self, id_or_name: &str) -> Result<(), ClientError> {
        self.client
            .send_empty(Method::DELETE, &["api", "collections", id_or_name], None)
            .await
    }
}
