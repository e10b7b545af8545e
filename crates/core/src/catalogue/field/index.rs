//! The blind indexes of a person ([`IndexField`]): each index's stored code and HMAC domain.
/// Blind indexes of a person. Each is the index's stored code and its HMAC domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexField {
    NhsNumber,
    NiNumber,
    Postcode,
    Phone,
    Email,
    /// Date of birth and family name together: finds a person without an identifier number.
    BirthAndFamilyName,
}

impl IndexField {
    pub const ALL: [IndexField; 6] = [
        IndexField::NhsNumber,
        IndexField::NiNumber,
        IndexField::Postcode,
        IndexField::Phone,
        IndexField::Email,
        IndexField::BirthAndFamilyName,
    ];

    pub fn code(self) -> &'static str {
        match self {
            IndexField::NhsNumber => "nhs_number",
            IndexField::NiNumber => "ni_number",
            IndexField::Postcode => "postcode",
            IndexField::Phone => "phone",
            IndexField::Email => "email",
            IndexField::BirthAndFamilyName => "birth_family_name",
        }
    }

    pub fn from_code(code: &str) -> Option<IndexField> {
        IndexField::ALL.into_iter().find(|f| f.code() == code)
    }

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
