//! OpenAPI schemas (feature `openapi`) for the types whose JSON form is written by hand: they all
//! travel as strings.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::keys::PublicKey;
use crate::wire::{IdempotencyKey, LookupToken, Sealed};

fn string(description: &str, byte: bool) -> RefOr<Schema> {
    let mut b = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description));
    if byte {
        b = b.format(Some(SchemaFormat::KnownFormat(KnownFormat::Byte)));
    }
    b.into()
}

macro_rules! string_schema {
    ($ty:ty, $desc:expr, $byte:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($desc, $byte)
            }
        }
        impl ToSchema for $ty {}
    };
}

string_schema!(
    Sealed,
    "A sealed envelope (docs/PROTOCOL.md), standard base64.",
    true
);
string_schema!(
    LookupToken,
    "32 bytes derived from the inquiry code, base64url without padding.",
    false
);
string_schema!(
    IdempotencyKey,
    "16-64 characters of A-Z a-z 0-9 - _, chosen by the client.",
    false
);
string_schema!(
    PublicKey,
    "An X25519 public key in Bech32: cbxpk1...",
    false
);
