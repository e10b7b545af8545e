//! One way to name the values of a code enum: the [`Code`] trait (a stable code for each value, and
//! the values a client may give) and [`Labelled`] for those with a label to show, both implemented
//! by the one `codes!` macro from a table of `Variant = "code"` (or `Variant = "code": "label"`).
//!
//! Guarantees:
//! - A code is written once, in the table: [`Code::code`] and [`Code::from_code`] cannot disagree,
//!   and codes are stored and shown exactly as written there.
//! - [`Code::from_code`] finds only the values in [`Code::ALL`], so a value left out of it (a
//!   purpose only core may set) cannot be parsed from outside.
//!
//! The macro also gives each enum inherent `ALL` (an array), `code()`, `from_code()` and, with
//! labels, `label()`, so callers need not import the traits.

/// A code enum: each value has a stable code (stored, sent and shown byte for byte).
pub trait Code: Copy + 'static {
    /// The values a client may give, in the order they are offered.
    const ALL: &'static [Self];

    /// The value's stable code.
    fn code(self) -> &'static str;

    /// The value of [`Self::ALL`] with this code, if there is one.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
}

/// A code enum whose values have a label for people.
pub trait Labelled: Code {
    fn label(self) -> &'static str;
}

/// Declares a code enum from its table and implements [`Code`] (and [`Labelled`] where every
/// value has a label) for it:
///
/// ```text
/// codes!(
///     /// Where a request stands.
///     #[derive(PartialOrd, Ord)] // beside Debug, Clone, Copy, PartialEq, Eq, Hash
///     ApprovalState {
///         Pending = "pending": "Waiting for a second person",
///         Approved = "approved": "Approved",
///     }
/// );
/// ```
///
/// Without labels, `Variant = "code"`; a trailing `listed [A, B]` makes `ALL` (and so what
/// `from_code` accepts) only those values.
macro_rules! codes {
    (@enum $(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal),+
    } [$($listed:ident),+]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The values a client may give, in the order they are offered.
            pub const ALL: [$name; [$(stringify!($listed)),+].len()] = [$($name::$listed),+];

            /// The value's stable code (stored, sent and shown as it is).
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The value of `ALL` with this code, if there is one.
            pub fn from_code(code: &str) -> Option<$name> {
                <$name as $crate::kernel::codes::Code>::from_code(code)
            }
        }

        impl $crate::kernel::codes::Code for $name {
            const ALL: &'static [$name] = &$name::ALL;
            fn code(self) -> &'static str {
                $name::code(self)
            }
        }
    };
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal : $label:literal),+ $(,)?
    }) => {
        $crate::kernel::codes::codes!(@enum $(#[$meta])* $name {
            $($(#[$vmeta])* $variant = $code),+
        } [$($variant),+]);

        impl $name {
            /// The value's label, for people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl $crate::kernel::codes::Labelled for $name {
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }
    };
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)?
    } listed [$($listed:ident),+ $(,)?]) => {
        $crate::kernel::codes::codes!(@enum $(#[$meta])* $name {
            $($(#[$vmeta])* $variant = $code),+
        } [$($listed),+]);
    };
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)?
    }) => {
        $crate::kernel::codes::codes!(@enum $(#[$meta])* $name {
            $($(#[$vmeta])* $variant = $code),+
        } [$($variant),+]);
    };
}

pub(crate) use codes;

#[cfg(test)]
mod tests {
    use super::*;

    codes!(
        /// A table with a value left out of `ALL`.
        Sample {
            One = "one",
            Two = "two",
            /// Set only by core.
            Hidden = "hidden",
        }
        listed [One, Two]
    );

    codes!(
        #[derive(PartialOrd, Ord)]
        Shown {
            First = "first": "The first",
            Second = "second": "The second",
        }
    );

    #[test]
    fn codes_round_trip_through_all_and_values_left_out_do_not_parse() {
        assert_eq!(Sample::ALL, [Sample::One, Sample::Two]);
        for v in Sample::ALL {
            assert_eq!(Sample::from_code(v.code()), Some(v));
            assert_eq!(<Sample as Code>::from_code(v.code()), Some(v));
        }
        assert_eq!(Sample::Hidden.code(), "hidden");
        assert_eq!(Sample::from_code("hidden"), None);
        assert_eq!(Sample::from_code("One"), None);
    }

    #[test]
    fn labels_follow_their_codes_and_extra_derives_apply() {
        assert_eq!(<Shown as Code>::ALL, &[Shown::First, Shown::Second]);
        assert_eq!(
            Shown::from_code("second").map(Labelled::label),
            Some("The second")
        );
        assert_eq!(Shown::First.label(), "The first");
        assert!(Shown::First < Shown::Second);
    }
}
