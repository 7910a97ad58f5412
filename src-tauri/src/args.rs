use std::ffi::OsString;
use std::path::PathBuf;

/// The app's command line: `--data-dir DIR` (or `--data-dir=DIR`). Anything else is reported in
/// the log and ignored, so a launcher that adds its own flags cannot stop the app.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub data_dir: Option<PathBuf>,
    pub ignored: Vec<OsString>,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Self {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let text = arg.to_string_lossy();
            if text == "--data-dir" {
                match args.next() {
                    Some(value) => parsed.data_dir = Some(PathBuf::from(value)),
                    None => parsed.ignored.push(arg),
                }
            } else if let Some(value) = text.strip_prefix("--data-dir=") {
                parsed.data_dir = Some(PathBuf::from(value));
            } else {
                parsed.ignored.push(arg);
            }
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::parse(args.iter().map(OsString::from))
    }

    #[test]
    fn reads_data_dir_in_both_spellings() {
        assert_eq!(
            parse(&["--data-dir", "/a"]).data_dir,
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            parse(&["--data-dir=/b"]).data_dir,
            Some(PathBuf::from("/b"))
        );
    }

    #[test]
    fn unknown_and_dangling_arguments_are_ignored_not_fatal() {
        let args = parse(&["--foo", "--data-dir"]);
        assert_eq!(args.data_dir, None, "a flag without its value sets nothing");
        assert_eq!(args.ignored.len(), 2);
    }
}
