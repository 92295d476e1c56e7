//! Reading `Signature-Input` and `Signature` (RFC 9421 §4) with `sfv`, strictly: anything this
//! guard would not sign itself — component parameters (`;sf`, `;key`, `;req`, …), a parameter or
//! label given twice, a member that is not an inner list of strings — is refused rather than
//! interpreted. Structured fields say a repeated key silently replaces the earlier one; for a
//! signature that ambiguity is exactly what an attacker wants, so the visitor sees every
//! occurrence and the parsed maps (which keep only the last) are not used for the input.

use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, KeyRef, Parser};

use super::error::SignatureError;

/// A parameter of a signature: only the types RFC 9421 defines for its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Int(i64),
    Str(String),
}

/// One member of `Signature-Input`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SignatureInput {
    pub(crate) label: String,
    pub(crate) components: Vec<String>,
    /// In the order given; the signature base serializes them in this order.
    pub(crate) params: Vec<(String, Param)>,
}

impl SignatureInput {
    pub(crate) fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, SignatureError> {
        match self.param(name) {
            None => Ok(None),
            Some(Param::Int(v)) => Ok(Some(*v)),
            Some(Param::Str(_)) => Err(SignatureError::Malformed),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<&str>, SignatureError> {
        match self.param(name) {
            None => Ok(None),
            Some(Param::Str(v)) => Ok(Some(v)),
            Some(Param::Int(_)) => Err(SignatureError::Malformed),
        }
    }
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a signature input this guard accepts")
    }
}

impl std::error::Error for Refused {}

#[derive(Default)]
struct Inputs {
    list: Vec<SignatureInput>,
}

impl Inputs {
    fn last(&mut self) -> &mut SignatureInput {
        // `entry` pushes before handing out a visitor, so there is always one.
        self.list.last_mut().expect("an entry is being visited")
    }
}

impl<'de> DictionaryVisitor<'de> for Inputs {
    type Out = Vec<SignatureInput>;
    type Error = Refused;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        if self.list.iter().any(|s| s.label == key.as_str()) {
            return Err(Refused);
        }
        self.list.push(SignatureInput {
            label: key.as_str().to_owned(),
            ..SignatureInput::default()
        });
        Ok(self)
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        Ok(self.list)
    }
}

impl<'de> EntryVisitor<'de> for &mut Inputs {
    type Error = Refused;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Err::<NoItem, _>(Refused)
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        Ok(self)
    }
}

impl<'de> InnerListVisitor<'de> for &mut Inputs {
    type Error = Refused;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        let components = &mut self.last().components;
        Ok(move |bare: BareItemFromInput<'de>| match bare {
            BareItemFromInput::String(s) => {
                components.push(s.as_str().to_owned());
                Ok(NoParams)
            }
            _ => Err(Refused),
        })
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Self::Error> {
        Ok(Params(self.last()))
    }
}

/// Items of a component list carry no parameters here.
struct NoParams;

impl<'de> ParameterVisitor<'de> for NoParams {
    type Out = ();
    type Error = Refused;

    fn parameter(&mut self, _: &'de KeyRef, _: BareItemFromInput<'de>) -> Result<(), Refused> {
        Err(Refused)
    }

    fn finish(self) -> Result<(), Refused> {
        Ok(())
    }
}

struct NoItem;

impl<'de> ItemVisitor<'de> for NoItem {
    type Out = ();
    type Error = Refused;

    fn bare_item(
        self,
        _: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Refused> {
        Err::<NoParams, _>(Refused)
    }
}

struct Params<'a>(&'a mut SignatureInput);

impl<'de> ParameterVisitor<'de> for Params<'_> {
    type Out = ();
    type Error = Refused;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Refused> {
        let name = key.as_str();
        if self.0.params.iter().any(|(k, _)| k == name) {
            return Err(Refused);
        }
        let value = match value {
            BareItemFromInput::Integer(i) => Param::Int(i.into()),
            BareItemFromInput::String(s) => Param::Str(s.as_str().to_owned()),
            _ => return Err(Refused),
        };
        self.0.params.push((name.to_owned(), value));
        Ok(())
    }

    fn finish(self) -> Result<(), Refused> {
        Ok(())
    }
}

/// Every member of a `Signature-Input` field value (the lines joined with `, `).
pub(crate) fn parse_inputs(value: &str) -> Result<Vec<SignatureInput>, SignatureError> {
    Parser::new(value)
        .parse_dictionary_with_visitor(Inputs::default())
        .map_err(|_| SignatureError::Malformed)
}

/// The signature labelled `label` in a `Signature` field value: a byte sequence without
/// parameters.
pub(crate) fn parse_signature(value: &str, label: &str) -> Result<Vec<u8>, SignatureError> {
    let dict: sfv::Dictionary = Parser::new(value)
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    match dict.get(label) {
        Some(sfv::ListEntry::Item(sfv::Item {
            bare_item: sfv::BareItem::ByteSequence(bytes),
            params,
        })) if params.is_empty() => Ok(bytes.clone()),
        Some(_) => Err(SignatureError::Malformed),
        None => Err(SignatureError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc_example() {
        let v = parse_inputs(
            r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#,
        )
        .unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].label, "sig-b25");
        assert_eq!(v[0].components, ["date", "@authority", "content-type"]);
        assert_eq!(v[0].int("created").unwrap(), Some(1_618_884_473));
        assert_eq!(v[0].str("keyid").unwrap(), Some("test-shared-secret"));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess_about() {
        for bad in [
            r#"s=("@method");created=1;created=2"#,
            r#"s=("@method");keyid="a", s=("@path");keyid="a""#,
            r#"s=("content-type";sf)"#,
            r#"s=("@method" x)"#,
            r#"s="@method""#,
            r#"s=("@method");created=1.5"#,
            r#"s=("@method");nonce=:AAAA:"#,
            "s=(",
            "",
        ] {
            assert!(
                parse_inputs(bad).is_err() || parse_inputs(bad).unwrap().is_empty(),
                "{bad}"
            );
        }
        assert_eq!(parse_inputs("").unwrap(), Vec::new());
    }

    #[test]
    fn signature_must_be_a_bare_byte_sequence() {
        assert_eq!(parse_signature("a=:AAEC:", "a").unwrap(), vec![0, 1, 2]);
        assert_eq!(
            parse_signature("a=:AAEC:;x=1", "a"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(parse_signature("a=1", "a"), Err(SignatureError::Malformed));
        assert_eq!(
            parse_signature("b=:AAEC:", "a"),
            Err(SignatureError::Missing)
        );
    }
}
