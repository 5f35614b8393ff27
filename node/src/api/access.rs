//! Who may do what: superuser-only endpoints and collection API rules.

use crate::api::error::ApiError;
use crate::auth::principal::Principal;

/// Collection management and operator endpoints: superusers only.
pub fn require_superuser(principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Superuser { .. } => Ok(()),
        Principal::Anonymous => Err(ApiError::unauthorized()),
        Principal::Record { .. } => Err(ApiError::forbidden(
            "The authorized record is not allowed to perform this action.",
        )),
    }
}

/// A collection API rule: `None` is superusers only, an empty rule is anyone. Rule
/// expressions need the filter language, which comes with the collections issue; until
/// then they admit superusers only, never more than the rule would.
pub fn check_rule(rule: &Option<String>, principal: &Principal) -> Result<(), ApiError> {
    if principal.is_superuser() {
        return Ok(());
    }
    match rule.as_deref().map(str::trim) {
        None => Err(ApiError::superusers_only()),
        Some("") => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "This collection's API rule is an expression; rule expressions are not supported \
             on this version of EdgeBase, so only superusers may perform this action.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_pocketbase() {
        let anyone = Principal::Anonymous;
        let root = Principal::Superuser { id: "x".into() };
        let cases = [
            (None, &anyone, 403),
            (Some(""), &anyone, 200),
            (Some("owner = @request.auth.id"), &anyone, 403),
            (None, &root, 200),
            (Some("x = 1"), &root, 200),
        ];
        for (rule, principal, status) in cases {
            let got = check_rule(&rule.map(String::from), principal)
                .map_or_else(|error| error.status.as_u16(), |()| 200);
            assert_eq!(got, status, "{rule:?} {principal:?}");
        }
    }
}
