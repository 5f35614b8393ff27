//! Fuzzing token parsing (proptest): any `Authorization` text, JWT-shaped or not, is
//! refused without a panic; a token signed with one key never verifies with another; a valid
//! token with any one character changed never verifies; and a valid token verifies to the
//! claims it was signed with. `PROPTEST_CASES` sets the budget.

use edgebase_auth::record_token::{self, RecordTokenKind, TokenSubject};
use edgebase_auth::token::{self, Refresh};
use proptest::prelude::*;

const SECRET: &str = "collection-secret-0123456789abcdef";

fn base64url() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{0,80}"
}

proptest! {
    #[test]
    fn arbitrary_text_is_refused(text in "\\PC{0,300}") {
        prop_assert!(token::verify(&text, "key", SECRET).is_err());
        let _ = token::unverified_claims(&text);
        prop_assert!(record_token::verify(&text, RecordTokenKind::File, "key", SECRET).is_err());
        let _ = record_token::unverified_claims(&text);
    }

    #[test]
    fn jwt_shaped_text_is_refused(
        header in base64url(),
        claims in base64url(),
        signature in base64url(),
    ) {
        let text = format!("{header}.{claims}.{signature}");
        prop_assert!(token::verify(&text, "key", SECRET).is_err());
        let _ = token::unverified_claims(&text);
    }

    #[test]
    fn signed_tokens_verify_only_with_their_key(
        id in "[a-z0-9]{15}",
        collection in "[a-z0-9]{15}",
        key in "[A-Za-z0-9]{1,50}",
        other_key in "[A-Za-z0-9]{1,50}",
    ) {
        let signed = token::sign(&id, &collection, &key, SECRET, 3600, Refresh::Allowed)
            .expect("sign");
        let claims = token::verify(&signed, &key, SECRET).expect("its own key");
        prop_assert_eq!(&claims.id, &id);
        prop_assert_eq!(&claims.collection_id, &collection);
        prop_assert_eq!(token::unverified_claims(&signed).expect("claims"), claims);
        if other_key != key {
            prop_assert!(token::verify(&signed, &other_key, SECRET).is_err());
        }
    }

    #[test]
    fn a_token_with_one_character_changed_never_verifies(
        key in "[A-Za-z0-9]{1,50}",
        at in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.-]",
    ) {
        let signed = token::sign("abcdefghijklmno", "pbc_1234567890", &key, SECRET, 3600, Refresh::Allowed)
            .expect("sign");
        let at = at.index(signed.len());
        let mut bent = signed.clone();
        bent.replace_range(at..at + 1, &replacement);
        if bent != signed {
            // A base64url change in a signature's last character can leave its bytes the
            // same (the unused low bits); anything else must fail.
            let same_bytes = at == signed.len() - 1;
            if !same_bytes {
                prop_assert!(token::verify(&bent, &key, SECRET).is_err(), "{bent}");
            }
        }
    }

    #[test]
    fn record_tokens_keep_their_kind(key in "[A-Za-z0-9]{1,50}") {
        let subject = TokenSubject {
            record_id: "abcdefghijklmno",
            collection_id: "pbc_1234567890",
            email: "a@example.com",
            token_key: &key,
        };
        let signed = record_token::sign(RecordTokenKind::File, &subject, None, SECRET, 600)
            .expect("sign");
        prop_assert!(record_token::verify(&signed, RecordTokenKind::File, &key, SECRET).is_ok());
        prop_assert!(record_token::verify(&signed, RecordTokenKind::PasswordReset, &key, SECRET).is_err());
        // An auth token is not a record token, nor the other way round.
        prop_assert!(token::verify(&signed, &key, SECRET).is_err());
    }
}
