use api::intake::import::{ImportReport, Progress};
use api::intake::{self, ApplicationView, DocumentMeta, ListQuery, SaveDraft};
use api::FieldIssue;
use base64::Engine;
use tauri::ipc::{Channel, Response};
use tauri::State;

use crate::state::AppState;

type Page = api::views::Page;

/// Files cross IPC as base64 text (one JSON argument); decoding is transport, not a use case.
fn decode(field: &str, b64: &str, max_bytes: usize) -> Result<Vec<u8>, api::Error> {
    // Refused by its length, before a byte is decoded.
    if b64.len() > max_bytes.div_ceil(3) * 4 {
        return Err(api::Error::invalid_input(
            field,
            &format!("must be at most {} MB", max_bytes / (1024 * 1024)),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| api::Error::invalid_input(field, "did not arrive intact (bad base64)"))
}

#[tauri::command]
pub async fn save_draft(
    state: State<'_, AppState>,
    input: SaveDraft,
) -> Result<ApplicationView, api::Error> {
    state
        .run(move |_, slot, _| intake::save_draft(slot, input))
        .await
}

#[tauri::command]
pub async fn get_application(
    state: State<'_, AppState>,
    id: String,
) -> Result<ApplicationView, api::Error> {
    state
        .run(move |_, slot, _| intake::get_application(slot, &id))
        .await
}

#[tauri::command]
pub async fn submit_application(
    state: State<'_, AppState>,
    id: String,
    version: i64,
) -> Result<ApplicationView, api::Error> {
    state
        .run(move |_, slot, _| intake::submit(slot, &id, version))
        .await
}

#[tauri::command]
pub async fn withdraw_application(
    state: State<'_, AppState>,
    id: String,
    version: i64,
) -> Result<ApplicationView, api::Error> {
    state
        .run(move |_, slot, _| intake::withdraw(slot, &id, version))
        .await
}

#[tauri::command]
pub async fn reveal_field(
    state: State<'_, AppState>,
    id: String,
    field: String,
) -> Result<String, api::Error> {
    state
        .run(move |_, slot, _| intake::reveal(slot, &id, &field))
        .await
}

#[tauri::command]
pub async fn list_applications(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page, api::Error> {
    state
        .run(move |_, slot, _| intake::list_applications(slot, &query))
        .await
}

#[tauri::command]
pub async fn check_application(
    state: State<'_, AppState>,
    form: api::domain::intake::ApplicationForm,
) -> Result<Vec<FieldIssue>, api::Error> {
    state
        .run(move |_, slot, _| intake::check_form(slot, &form))
        .await
}

#[tauri::command]
pub async fn mcc_codes(
    state: State<'_, AppState>,
) -> Result<Vec<api::domain::intake::MccInfo>, api::Error> {
    state.run(|_, slot, _| intake::mcc_codes(slot)).await
}

#[tauri::command]
pub async fn add_document(
    state: State<'_, AppState>,
    application_id: String,
    kind: String,
    file_name: String,
    content_base64: String,
) -> Result<DocumentMeta, api::Error> {
    state
        .run(move |_, slot, _| {
            // The session first: nothing is decoded for a caller who may not add documents.
            slot.require(api::Access::Write, "document.add")?;
            let content = decode("file", &content_base64, intake::MAX_DOCUMENT_BYTES)?;
            intake::add_document(slot, &application_id, &kind, &file_name, &content)
        })
        .await
}

/// The document's bytes, raw (an ArrayBuffer in the window), for preview.
#[tauri::command]
pub async fn document_content(
    state: State<'_, AppState>,
    id: String,
) -> Result<Response, api::Error> {
    state
        .run(move |_, slot, _| {
            intake::document_content(slot, &id).map(|(_, bytes)| Response::new(bytes.to_vec()))
        })
        .await
}

#[tauri::command]
pub async fn delete_document(state: State<'_, AppState>, id: String) -> Result<(), api::Error> {
    state
        .run(move |_, slot, _| intake::delete_document(slot, &id))
        .await
}

#[tauri::command]
pub async fn import_applications(
    state: State<'_, AppState>,
    file_name: String,
    content_base64: String,
    skip_duplicates: Option<bool>,
    on_progress: Channel<Progress>,
) -> Result<ImportReport, api::Error> {
    state
        .run(move |_, slot, _| {
            // The session first: nothing is decoded for a caller who may not import.
            slot.require(api::Access::Write, "application.import")?;
            let content = decode("file", &content_base64, intake::import::MAX_IMPORT_BYTES)?;
            let duplicates = if skip_duplicates == Some(true) {
                intake::import::Duplicates::Skip
            } else {
                intake::import::Duplicates::Warn
            };
            intake::import::import_with(slot, &file_name, &content, duplicates, &mut |p| {
                let _ = on_progress.send(p);
            })
        })
        .await
}

#[tauri::command]
pub async fn seed_demo(
    state: State<'_, AppState>,
    count: usize,
    on_progress: Channel<Progress>,
) -> Result<ImportReport, api::Error> {
    state
        .run(move |_, slot, _| {
            intake::demo::seed(slot, count, 1, &mut |p| {
                let _ = on_progress.send(p);
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn an_oversized_payload_is_refused_by_its_length_before_decoding() {
        let err = decode("file", &"A".repeat(20), 8).unwrap_err();
        assert_eq!(err.code(), api::Code::InvalidInput);
        assert!(err.message().starts_with("file: must be at most"), "{err}");
        assert_eq!(decode("file", "aGk=", 8).unwrap(), b"hi");
        let err = decode("file", "not base64!", 1024).unwrap_err();
        assert!(err.message().contains("bad base64"), "{err}");
    }
}
