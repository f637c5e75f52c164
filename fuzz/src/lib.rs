//! Harnesses for the cargo-fuzz targets. The invariants live in [`checks`] and [`cli_checks`],
//! which the stable replay tests include by path, so a corpus file is checked the same way by
//! libFuzzer and by `cargo test`.

#[path = "checks.rs"]
pub mod checks;
#[path = "cli_checks.rs"]
pub mod cli_checks;
#[path = "dtls_checks.rs"]
pub mod dtls_checks;

/// `session_input`'s structured input, decoded with `arbitrary`'s primitive layout (see
/// [`checks::Cursor`]).
#[derive(Debug)]
pub struct SessionInput(pub checks::SessionInput);

impl<'a> arbitrary::Arbitrary<'a> for SessionInput {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let rest = u.bytes(u.len())?;
        Ok(SessionInput(checks::SessionInput::decode(rest)))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(SessionInput(checks::SessionInput::decode(u.take_rest())))
    }
}

/// `dtls_datagram`'s input: the bytes [`dtls_checks::check_dtls_datagram`] decodes (a flags byte,
/// then operations), taken whole through `arbitrary`.
#[derive(Debug)]
pub struct DtlsInput(pub Vec<u8>);

impl<'a> arbitrary::Arbitrary<'a> for DtlsInput {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(DtlsInput(u.bytes(u.len())?.to_vec()))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(DtlsInput(u.take_rest().to_vec()))
    }
}
