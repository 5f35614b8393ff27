//! Per-field validation errors in PocketBase's shape: `{"field": {"code", "message"[, "params"]}}`.

use edgebase_wire::FieldError;
use serde_json::{Map, Value};

/// Per-field validation failures, keyed by field name.
pub type FieldErrors = Map<String, Value>;

/// One field's error entry: `{"code": .., "message": ..[, "params": ..]}`.
pub fn field_error(
    code: ValidationCode,
    message: impl Into<String>,
    params: Option<Value>,
) -> Value {
    let error = FieldError {
        code: code.as_str().to_string(),
        message: message.into(),
        params: params.and_then(|params| match params {
            Value::Object(map) => Some(map),
            _ => None,
        }),
    };
    serde_json::to_value(error).expect("a FieldError always serialises")
}

/// PocketBase's validation error codes, as its answers carry them in `data.<field>.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationCode {
    InvalidIndexExpression,
    DuplicatedIndexName,
    ExistingIndexName,
    EmailDomainNotAllowed,
    UrlDomainNotAllowed,
    CollectionNameExists,
    CollectionSystemNameChange,
    CollectionTypeChange,
    CollectionsImportFailure,
    ConflictingRateLimitRule,
    ContentSizeLimit,
    DuplicatedFieldName,
    DuplicatedProvider,
    Empty,
    FieldRelationChange,
    FieldRelationMissingCollection,
    FieldTypeChange,
    InInvalid,
    InvalidAddress,
    InvalidAuthCollection,
    InvalidCron,
    InvalidFormat,
    /// PocketBase spells this code `validation_invlaid_ip_or_subnet`; so does EdgeBase.
    InvalidIpOrSubnet,
    InvalidLatitude,
    InvalidLongitude,
    InvalidNewEmail,
    InvalidOldPassword,
    InvalidPassword,
    InvalidProvider,
    InvalidRegex,
    InvalidRule,
    InvalidToken,
    InvalidTokenClaims,
    InvalidTokenEmail,
    InvalidTokenPayload,
    InvalidUrl,
    InvalidValue,
    IsDomain,
    IsEmail,
    IsHost,
    IsUrl,
    JsonSizeLimit,
    LengthInvalid,
    LengthOutOfRange,
    LengthTooLong,
    MatchInvalid,
    MaxLessEqualThanRequired,
    MaxNumberConstraint,
    MaxTextConstraint,
    MfaNotEnoughAuths,
    MinGreaterEqualThanRequired,
    MinNumberConstraint,
    MinTextConstraint,
    MissingProvider,
    MissingRelRecords,
    MissingUniqueConstraint,
    NilOrNotEmptyRequired,
    NotANumber,
    NotEnoughValues,
    NotInInvalid,
    NotUnique,
    OnlyIntConstraint,
    Required,
    SystemCollection,
    SystemFieldChange,
    TokenCollectionMismatch,
    TokenEmailMismatch,
    TooManyFields,
    TooManyValues,
    UnsupportedCollectionType,
    UnsupportedCompositePk,
    UnsupportedFieldType,
    ValuesMismatch,
    InvalidFile,
    TooManyFiles,
    FileSizeLimit,
    InvalidMimeType,
    /// PocketBase's: a backup name in use.
    BackupNameExists,
    /// EdgeBase's: an uploaded archive that is not a backup this build can restore.
    InvalidBackup,
    /// EdgeBase's: an uploaded backup's file name that cannot be a key.
    InvalidFileName,
    /// EdgeBase's: the backup catalog is full.
    TooManyBackups,
}

impl ValidationCode {
    /// The code as PocketBase writes it (spelling included).
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationCode::InvalidIndexExpression => "validation_invalid_index_expression",
            ValidationCode::DuplicatedIndexName => "validation_duplicated_index_name",
            ValidationCode::ExistingIndexName => "validation_existing_index_name",
            ValidationCode::EmailDomainNotAllowed => "validation_email_domain_not_allowed",
            ValidationCode::UrlDomainNotAllowed => "validation_url_domain_not_allowed",
            ValidationCode::CollectionNameExists => "validation_collection_name_exists",
            ValidationCode::CollectionSystemNameChange => {
                "validation_collection_system_name_change"
            }
            ValidationCode::CollectionTypeChange => "validation_collection_type_change",
            ValidationCode::CollectionsImportFailure => "validation_collections_import_failure",
            ValidationCode::ConflictingRateLimitRule => "validation_conflicting_rate_limit_rule",
            ValidationCode::ContentSizeLimit => "validation_content_size_limit",
            ValidationCode::DuplicatedFieldName => "validation_duplicated_field_name",
            ValidationCode::DuplicatedProvider => "validation_duplicated_provider",
            ValidationCode::Empty => "validation_empty",
            ValidationCode::FieldRelationChange => "validation_field_relation_change",
            ValidationCode::FieldRelationMissingCollection => {
                "validation_field_relation_missing_collection"
            }
            ValidationCode::FieldTypeChange => "validation_field_type_change",
            ValidationCode::InInvalid => "validation_in_invalid",
            ValidationCode::InvalidAddress => "validation_invalid_address",
            ValidationCode::InvalidAuthCollection => "validation_invalid_auth_collection",
            ValidationCode::InvalidCron => "validation_invalid_cron",
            ValidationCode::InvalidFormat => "validation_invalid_format",
            ValidationCode::InvalidIpOrSubnet => "validation_invlaid_ip_or_subnet",
            ValidationCode::InvalidLatitude => "validation_invalid_latitude",
            ValidationCode::InvalidLongitude => "validation_invalid_longitude",
            ValidationCode::InvalidNewEmail => "validation_invalid_new_email",
            ValidationCode::InvalidOldPassword => "validation_invalid_old_password",
            ValidationCode::InvalidPassword => "validation_invalid_password",
            ValidationCode::InvalidProvider => "validation_invalid_provider",
            ValidationCode::InvalidRegex => "validation_invalid_regex",
            ValidationCode::InvalidRule => "validation_invalid_rule",
            ValidationCode::InvalidToken => "validation_invalid_token",
            ValidationCode::InvalidTokenClaims => "validation_invalid_token_claims",
            ValidationCode::InvalidTokenEmail => "validation_invalid_token_email",
            ValidationCode::InvalidTokenPayload => "validation_invalid_token_payload",
            ValidationCode::InvalidUrl => "validation_invalid_url",
            ValidationCode::InvalidValue => "validation_invalid_value",
            ValidationCode::IsDomain => "validation_is_domain",
            ValidationCode::IsEmail => "validation_is_email",
            ValidationCode::IsHost => "validation_is_host",
            ValidationCode::IsUrl => "validation_is_url",
            ValidationCode::JsonSizeLimit => "validation_json_size_limit",
            ValidationCode::LengthInvalid => "validation_length_invalid",
            ValidationCode::LengthOutOfRange => "validation_length_out_of_range",
            ValidationCode::LengthTooLong => "validation_length_too_long",
            ValidationCode::MatchInvalid => "validation_match_invalid",
            ValidationCode::MaxLessEqualThanRequired => "validation_max_less_equal_than_required",
            ValidationCode::MaxNumberConstraint => "validation_max_number_constraint",
            ValidationCode::MaxTextConstraint => "validation_max_text_constraint",
            ValidationCode::MfaNotEnoughAuths => "validation_mfa_not_enough_auths",
            ValidationCode::MinGreaterEqualThanRequired => {
                "validation_min_greater_equal_than_required"
            }
            ValidationCode::MinNumberConstraint => "validation_min_number_constraint",
            ValidationCode::MinTextConstraint => "validation_min_text_constraint",
            ValidationCode::MissingProvider => "validation_missing_provider",
            ValidationCode::MissingRelRecords => "validation_missing_rel_records",
            ValidationCode::MissingUniqueConstraint => "validation_missing_unique_constraint",
            ValidationCode::NilOrNotEmptyRequired => "validation_nil_or_not_empty_required",
            ValidationCode::NotANumber => "validation_not_a_number",
            ValidationCode::NotEnoughValues => "validation_not_enough_values",
            ValidationCode::NotInInvalid => "validation_not_in_invalid",
            ValidationCode::NotUnique => "validation_not_unique",
            ValidationCode::OnlyIntConstraint => "validation_only_int_constraint",
            ValidationCode::Required => "validation_required",
            ValidationCode::SystemCollection => "validation_system_collection",
            ValidationCode::SystemFieldChange => "validation_system_field_change",
            ValidationCode::TokenCollectionMismatch => "validation_token_collection_mismatch",
            ValidationCode::TokenEmailMismatch => "validation_token_email_mismatch",
            ValidationCode::TooManyFields => "validation_too_many_fields",
            ValidationCode::TooManyValues => "validation_too_many_values",
            ValidationCode::UnsupportedCollectionType => "validation_unsupported_collection_type",
            ValidationCode::UnsupportedCompositePk => "validation_unsupported_composite_pk",
            ValidationCode::UnsupportedFieldType => "validation_unsupported_field_type",
            ValidationCode::ValuesMismatch => "validation_values_mismatch",
            ValidationCode::InvalidFile => "validation_invalid_file",
            ValidationCode::TooManyFiles => "validation_too_many_files",
            ValidationCode::FileSizeLimit => "validation_file_size_limit",
            ValidationCode::InvalidMimeType => "validation_invalid_mime_type",
            ValidationCode::BackupNameExists => "validation_backup_name_exists",
            ValidationCode::InvalidBackup => "validation_invalid_backup",
            ValidationCode::InvalidFileName => "validation_invalid_file_name",
            ValidationCode::TooManyBackups => "validation_too_many_backups",
        }
    }
}

impl ValidationCode {
    /// Every code, for lookups by text.
    const ALL: &'static [ValidationCode] = &[
        ValidationCode::InvalidIndexExpression,
        ValidationCode::DuplicatedIndexName,
        ValidationCode::ExistingIndexName,
        ValidationCode::EmailDomainNotAllowed,
        ValidationCode::UrlDomainNotAllowed,
        ValidationCode::CollectionNameExists,
        ValidationCode::CollectionSystemNameChange,
        ValidationCode::CollectionTypeChange,
        ValidationCode::CollectionsImportFailure,
        ValidationCode::ConflictingRateLimitRule,
        ValidationCode::ContentSizeLimit,
        ValidationCode::DuplicatedFieldName,
        ValidationCode::DuplicatedProvider,
        ValidationCode::Empty,
        ValidationCode::FieldRelationChange,
        ValidationCode::FieldRelationMissingCollection,
        ValidationCode::FieldTypeChange,
        ValidationCode::InInvalid,
        ValidationCode::InvalidAddress,
        ValidationCode::InvalidAuthCollection,
        ValidationCode::InvalidCron,
        ValidationCode::InvalidFormat,
        ValidationCode::InvalidIpOrSubnet,
        ValidationCode::InvalidLatitude,
        ValidationCode::InvalidLongitude,
        ValidationCode::InvalidNewEmail,
        ValidationCode::InvalidOldPassword,
        ValidationCode::InvalidPassword,
        ValidationCode::InvalidProvider,
        ValidationCode::InvalidRegex,
        ValidationCode::InvalidRule,
        ValidationCode::InvalidToken,
        ValidationCode::InvalidTokenClaims,
        ValidationCode::InvalidTokenEmail,
        ValidationCode::InvalidTokenPayload,
        ValidationCode::InvalidUrl,
        ValidationCode::InvalidValue,
        ValidationCode::IsDomain,
        ValidationCode::IsEmail,
        ValidationCode::IsHost,
        ValidationCode::IsUrl,
        ValidationCode::JsonSizeLimit,
        ValidationCode::LengthInvalid,
        ValidationCode::LengthOutOfRange,
        ValidationCode::LengthTooLong,
        ValidationCode::MatchInvalid,
        ValidationCode::MaxLessEqualThanRequired,
        ValidationCode::MaxNumberConstraint,
        ValidationCode::MaxTextConstraint,
        ValidationCode::MfaNotEnoughAuths,
        ValidationCode::MinGreaterEqualThanRequired,
        ValidationCode::MinNumberConstraint,
        ValidationCode::MinTextConstraint,
        ValidationCode::MissingProvider,
        ValidationCode::MissingRelRecords,
        ValidationCode::MissingUniqueConstraint,
        ValidationCode::NilOrNotEmptyRequired,
        ValidationCode::NotANumber,
        ValidationCode::NotEnoughValues,
        ValidationCode::NotInInvalid,
        ValidationCode::NotUnique,
        ValidationCode::OnlyIntConstraint,
        ValidationCode::Required,
        ValidationCode::SystemCollection,
        ValidationCode::SystemFieldChange,
        ValidationCode::TokenCollectionMismatch,
        ValidationCode::TokenEmailMismatch,
        ValidationCode::TooManyFields,
        ValidationCode::TooManyValues,
        ValidationCode::UnsupportedCollectionType,
        ValidationCode::UnsupportedCompositePk,
        ValidationCode::UnsupportedFieldType,
        ValidationCode::ValuesMismatch,
        ValidationCode::InvalidFile,
        ValidationCode::TooManyFiles,
        ValidationCode::FileSizeLimit,
        ValidationCode::InvalidMimeType,
        ValidationCode::BackupNameExists,
        ValidationCode::InvalidBackup,
        ValidationCode::InvalidFileName,
        ValidationCode::TooManyBackups,
    ];

    /// The code PocketBase writes as `code` (for codes produced as text by crates below the
    /// model, such as the index checks in storage).
    pub fn from_code(code: &str) -> Option<ValidationCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|known| known.as_str() == code)
    }
}

impl std::fmt::Display for ValidationCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back() {
        for code in ValidationCode::ALL {
            assert_eq!(ValidationCode::from_code(code.as_str()), Some(*code));
        }
        assert_eq!(ValidationCode::from_code("validation_nonsense"), None);
    }
}
