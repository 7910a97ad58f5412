use api::{Code, DataDir};

/// The CLI and the api report the same installation: the two faces cannot drift apart.
#[test]
fn cli_json_and_api_agree_on_app_info() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(&tmp.path().join("data")).unwrap();
    let from_api = serde_json::to_value(api::app_info(&dir).unwrap()).unwrap();

    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = desk::run(
        [
            "desk",
            "--json",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "info",
        ],
        &mut out,
        &mut err,
    );
    assert_eq!(
        code,
        desk::EXIT_OK,
        "stderr: {}",
        String::from_utf8_lossy(&err)
    );
    let from_cli: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        from_cli, from_api,
        "desk info --json must print exactly the api's AppInfo"
    );
}

/// An unusable data folder reaches the CLI as the same code the GUI receives.
#[test]
fn unusable_data_dir_keeps_its_code_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let api_err = DataDir::open(&file).unwrap_err();
    assert_eq!(api_err.code(), Code::DataDirUnavailable);

    let mut out = Vec::new();
    let code = desk::run(
        [
            "desk",
            "--json",
            "--data-dir",
            file.to_str().unwrap(),
            "info",
        ],
        &mut out,
        &mut Vec::new(),
    );
    assert_eq!(code, desk::EXIT_USER_ERROR);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["error"],
        serde_json::to_value(&api_err).unwrap(),
        "same {{code, message}}"
    );
}
