//! OpenAPI schemas (feature `openapi`) for the types whose JSON form is written by hand: they all
//! travel as strings.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::keys::PublicKey;
use crate::wire::{IdempotencyKey, LookupToken, Sealed};

fn string(description: &str, byte: bool, pattern: Option<&str>) -> RefOr<Schema> {
    let mut b = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description));
    if byte {
        b = b.format(Some(SchemaFormat::KnownFormat(KnownFormat::Byte)));
    }
    if let Some(p) = pattern {
        b = b.pattern(Some(p));
    }
    b.into()
}

macro_rules! string_schema {
    ($ty:ty, $desc:expr, $byte:expr, $pattern:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($desc, $byte, $pattern)
            }
        }
        impl ToSchema for $ty {}
    };
}

string_schema!(
    Sealed,
    "A sealed envelope (docs/PROTOCOL.md), standard base64 with padding. Its length must be that \
     of a size class and slot count (55 + 80n + class + 16 * ceil(class / 65536) bytes); anything \
     else is 422 invalid_envelope.",
    true,
    Some("^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
);
string_schema!(
    LookupToken,
    "32 bytes derived from the inquiry code, base64url without padding.",
    false,
    Some("^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")
);
string_schema!(
    IdempotencyKey,
    "16-64 characters of A-Z a-z 0-9 - _, chosen by the client.",
    false,
    Some("^[A-Za-z0-9_-]{16,64}$")
);
string_schema!(
    PublicKey,
    "An X25519 public key in Bech32: cbxpk1...",
    false,
    Some("^cbxpk1[02-9ac-hj-np-z]{58}$")
);

/// Inbox positions: integers from 0 to 2^63 - 1, at most 10,000 of them.
pub(crate) fn positions() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .maximum(Some(i64::MAX)),
        )
        .max_items(Some(10_000))
}
