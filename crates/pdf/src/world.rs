//! The typst `World` a document is compiled in: one in-memory source, our embedded fonts, no file
//! system, no packages, no network and no clock, so the same input always gives the same PDF.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::PdfError;

/// DejaVu Sans, regular and bold: a plain, freely licensed sans (licence in `fonts/DejaVu-LICENSE`).
/// typst's bundled fonts include no proportional sans.
static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    [
        &include_bytes!("../fonts/DejaVuSans.ttf")[..],
        &include_bytes!("../fonts/DejaVuSans-Bold.ttf")[..],
    ]
    .into_iter()
    .flat_map(|data| Font::iter(Bytes::new(data)))
    .collect()
});

static BOOK: LazyLock<LazyHash<FontBook>> =
    LazyLock::new(|| LazyHash::new(FontBook::from_fonts(FONTS.iter())));

/// A world holding one typst source, given its data through `sys.inputs`.
pub(crate) struct DocumentWorld {
    library: LazyHash<Library>,
    main: Source,
}

impl DocumentWorld {
    /// `source` is our own template, never user text; user text goes in `inputs` only.
    pub(crate) fn new(source: &'static str, inputs: Dict) -> Result<Self, PdfError> {
        let path = VirtualPath::new("main.typ")
            .map_err(|e| PdfError::Typeset(vec![format!("main.typ: {e:?}")]))?;
        let id = RootedPath::new(VirtualRoot::Project, path).intern();
        Ok(DocumentWorld {
            library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
            main: Source::new(id, source.to_owned()),
        })
    }
}

impl World for DocumentWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &BOOK
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}
