//! Documents attached to an application: the content and the file name are sealed with the
//! application's key; only metadata is listed.

use super::*;

/// Document metadata (the file name is opened; the content is not loaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentMeta {
    pub id: String,
    pub application_id: String,
    pub kind: String,
    pub media_type: String,
    pub size: i64,
    pub file_name: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

pub struct NewDocument<'a> {
    pub id: &'a str,
    pub application_id: &'a str,
    pub kind: &'a str,
    pub media_type: &'a str,
    pub file_name: &'a str,
    pub content: &'a [u8],
    pub actor: &'a str,
    pub now_ms: i64,
}

impl Vault {
    fn document_rows(&self, where_sql: &str, arg: &str) -> Result<Vec<(DocumentMeta, Sealed)>> {
        self.db().query_map(
            "reading documents",
            &format!(
                "SELECT id, application_id, kind, media_type, size, file_name, uploaded_by,
                     uploaded_at FROM documents WHERE {where_sql} ORDER BY uploaded_at, id"
            ),
            args![arg],
            |r| {
                Ok((
                    DocumentMeta {
                        id: r.get(0)?,
                        application_id: r.get(1)?,
                        kind: r.get(2)?,
                        media_type: r.get(3)?,
                        size: r.get(4)?,
                        file_name: String::new(),
                        uploaded_by: r.get(6)?,
                        uploaded_at: r.get(7)?,
                    },
                    r.get::<Sealed>(5)?,
                ))
            },
        )
    }

    fn open_name(&self, mut meta: DocumentMeta, sealed: &Sealed) -> Result<DocumentMeta> {
        let key = self
            .existing_record_key(&meta.application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let name = key.open(&format!("document-name:{}", meta.id), sealed)?;
        meta.file_name = String::from_utf8_lossy(&name).into_owned();
        Ok(meta)
    }

    pub fn documents(&self, application_id: &str) -> Result<Vec<DocumentMeta>> {
        self.document_rows("application_id = ?1", application_id)?
            .into_iter()
            .map(|(meta, name)| self.open_name(meta, &name))
            .collect()
    }

    /// A document's metadata and opened content.
    pub fn document(&self, id: &str) -> Result<(DocumentMeta, Zeroizing<Vec<u8>>)> {
        let (meta, name) = self
            .document_rows("id = ?1", id)?
            .pop()
            .ok_or(VaultError::NotFound("document"))?;
        let meta = self.open_name(meta, &name)?;
        let sealed: Sealed = self
            .db()
            .query_value(
                "reading a document",
                "SELECT content FROM documents WHERE id = ?1",
                args![id],
            )?
            .ok_or(VaultError::NotFound("document"))?;
        let key = self
            .existing_record_key(&meta.application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let content = key.open(&format!("document:{id}"), &sealed)?;
        Ok((meta, content))
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    pub fn add_document(&self, doc: &NewDocument<'_>) -> Result<DocumentMeta> {
        let tx = self.part()?;
        let summary = self.application_summary(doc.application_id)?;
        if !summary.status.is_editable() {
            return Err(VaultError::Conflict(
                "documents can be added only while the application is editable",
            ));
        }
        let key = self
            .existing_record_key(doc.application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let digest = crate::crypto::sha256(&[doc.content]);
        let name = key.seal(
            &format!("document-name:{}", doc.id),
            doc.file_name.as_bytes(),
        )?;
        let content = key.seal(&format!("document:{}", doc.id), doc.content)?;
        self.db().execute(
            "storing a document",
            "INSERT INTO documents (id, application_id, kind, media_type, size, sha256,
                     file_name, content, uploaded_by, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            args![
                doc.id,
                doc.application_id,
                doc.kind,
                doc.media_type,
                doc.content.len() as i64,
                digest.as_slice(),
                &name,
                &content,
                doc.actor,
                doc.now_ms,
            ],
        )?;
        tx.commit()?;
        Ok(DocumentMeta {
            id: doc.id.to_string(),
            application_id: doc.application_id.to_string(),
            kind: doc.kind.to_string(),
            media_type: doc.media_type.to_string(),
            size: doc.content.len() as i64,
            file_name: doc.file_name.to_string(),
            uploaded_by: doc.actor.to_string(),
            uploaded_at: doc.now_ms,
        })
    }
    pub fn delete_document(&self, id: &str) -> Result<DocumentMeta> {
        let tx = self.part()?;
        let (meta, _) = self.document(id)?;
        let status = self.application_summary(&meta.application_id)?.status;
        if !status.is_editable() {
            return Err(VaultError::Conflict(
                "documents can be removed only while the application is editable",
            ));
        }
        self.db().execute(
            "deleting a document",
            "DELETE FROM documents WHERE id = ?1",
            args![id],
        )?;
        tx.commit()?;
        Ok(meta)
    }
}
