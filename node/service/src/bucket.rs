//! The S3 bucket PocketBase's `s3` settings name, when they turn it on: one client per
//! configuration, made when first needed and replaced when the settings change.

use std::sync::Mutex;

use edgebase_bucket::{Bucket, BucketConfig};
use edgebase_model::settings::S3Settings;

use crate::error::ServiceError;

/// The client for the settings last seen.
#[derive(Default)]
pub struct BucketClient {
    current: Mutex<Option<(BucketConfig, Bucket)>>,
}

/// The bucket configuration `s3` names, whether or not it is enabled.
pub fn config_of(s3: &S3Settings) -> BucketConfig {
    BucketConfig {
        endpoint: s3.endpoint.clone(),
        bucket: s3.bucket.clone(),
        region: s3.region.clone(),
        access_key: s3.access_key.clone(),
        secret: s3.secret.clone(),
        force_path_style: s3.force_path_style,
    }
}

impl BucketClient {
    /// The bucket `s3` names, or `None` when it is off.
    pub fn for_settings(&self, s3: &S3Settings) -> Result<Option<Bucket>, ServiceError> {
        if !s3.enabled {
            return Ok(None);
        }
        let config = config_of(s3);
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((seen, bucket)) = current.as_ref() {
            if *seen == config {
                return Ok(Some(bucket.clone()));
            }
        }
        let bucket = Bucket::connect(&config)
            .map_err(|error| ServiceError::internal_from("connect to the S3 bucket", error))?;
        tracing::info!(bucket = bucket.name(), endpoint = %config.endpoint, "S3 bucket");
        *current = Some((config, bucket.clone()));
        Ok(Some(bucket))
    }
}
