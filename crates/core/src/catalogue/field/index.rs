//! The blind indexes of a person ([`IndexField`]): each index's stored code and HMAC domain.

use crate::kernel::codes::codes;

codes!(
    /// Blind indexes of a person. Each is the index's stored code and its HMAC domain.
    IndexField {
        NhsNumber = "nhs_number",
        NiNumber = "ni_number",
        Postcode = "postcode",
        Phone = "phone",
        Email = "email",
        /// Date of birth and family name together: finds a person without an identifier number.
        BirthAndFamilyName = "birth_family_name",
    }
);

impl IndexField {
    /// The HMAC domain: separates indexes so equal values in two fields do not match. A referral's
    /// identifiers are indexed in the same domains, so a referral finds the people it may duplicate.
    pub fn domain(self) -> &'static str {
        match self {
            IndexField::NhsNumber => "person.nhs_number",
            IndexField::NiNumber => "person.ni_number",
            IndexField::Postcode => "person.postcode",
            IndexField::Phone => "person.phone",
            IndexField::Email => "person.email",
            IndexField::BirthAndFamilyName => "person.birth_family_name",
        }
    }
}
