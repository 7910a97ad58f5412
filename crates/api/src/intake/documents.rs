//! Documents of an application: PDF, PNG or JPEG up to 10 MB, recognised by their first bytes
//! (never by the file name), sealed with the application's key.

use domain::intake::clean_text;
use time::OffsetDateTime;
use vault::applications::NewDocument;

use crate::views::DocumentMeta;
use vault::audit::Outcome;
use zeroize::Zeroizing;

use crate::clock::{new_id, now_ms};
use crate::session::{Access, SessionSlot};
use crate::{Error, Result};

/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// What a document proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    GovernmentId,
    VoidedCheck,
    Articles,
    BankStatement,
    ProcessingStatements,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::GovernmentId,
        DocumentKind::VoidedCheck,
        DocumentKind::Articles,
        DocumentKind::BankStatement,
        DocumentKind::ProcessingStatements,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::GovernmentId => "government_id",
            DocumentKind::VoidedCheck => "voided_check",
            DocumentKind::Articles => "articles",
            DocumentKind::BankStatement => "bank_statement",
            DocumentKind::ProcessingStatements => "processing_statements",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The media type from the file's magic bytes.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    if content.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The last component of a file name, as text.
fn base_name(file_name: &str) -> Result<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    clean_text("file_name", base, 200).map_err(|e| Error::invalid_input("file_name", &e.reason))
}

pub fn add_document(
    slot: &mut SessionSlot,
    application_id: &str,
    kind: &str,
    file_name: &str,
    content: &[u8],
) -> Result<DocumentMeta> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Write, "document.add")?;
    let kind = DocumentKind::parse(kind).ok_or_else(|| {
        Error::invalid_input(
            "kind",
            "must be government_id, voided_check, articles, bank_statement or processing_statements",
        )
    })?;
    let file_name = base_name(file_name)?;
    if content.is_empty() {
        return Err(Error::invalid_input("file", "is empty"));
    }
    if content.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid_input("file", "must be at most 10 MB"));
    }
    let media_type = sniff(content)
        .ok_or_else(|| Error::invalid_input("file", "must be a PDF, PNG or JPEG file"))?;
    let session = slot.require(Access::Write, "document.add")?;
    let id = new_id();
    let meta = session.write(|w| {
        let v = w.add_document(&NewDocument {
            id: &id,
            application_id,
            kind: kind.as_str(),
            media_type,
            file_name: &file_name,
            content,
            actor: session.username(),
            now_ms: now_ms(OffsetDateTime::now_utc()),
        })?;
        w.audit("document.add", Some(application_id), Outcome::Ok, Some(&id))?;
        Ok(v)
    })?;
    Ok(meta.into())
}

/// A document's content, for preview; every opening is audited.
pub fn document_content(
    slot: &mut SessionSlot,
    id: &str,
) -> Result<(DocumentMeta, Zeroizing<Vec<u8>>)> {
    let session = slot.require(Access::SignedIn, "document.view")?;
    let (meta, content) = session.vault().document(id)?;
    session.audit(
        "document.view",
        Some(&meta.application_id),
        Outcome::Ok,
        Some(id),
    )?;
    Ok((meta.into(), content))
}

pub fn delete_document(slot: &mut SessionSlot, id: &str) -> Result<()> {
    let session = slot.require(Access::Write, "document.delete")?;
    session.write(|w| {
        let v = w.delete_document(id)?;
        w.audit(
            "document.delete",
            Some(&v.application_id),
            Outcome::Ok,
            Some(id),
        )?;
        Ok(v)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_magic_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"MZ\x90\x00 an .exe renamed to .pdf"), None);
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn file_names_lose_their_folders() {
        assert_eq!(base_name("C:\\Users\\x\\id.png").unwrap(), "id.png");
        assert_eq!(base_name("../../etc/passwd.pdf").unwrap(), "passwd.pdf");
        assert!(base_name("a\u{202E}fdp.exe").is_err());
    }
}
