//! Where secrets come from: a hidden prompt on a terminal, else one line of stdin each.
//! Never argv, where other users of the machine could read them.

use std::io::{self, BufRead, IsTerminal, Write};

pub trait Prompt {
    /// A secret (password, recovery key).
    fn secret(&mut self, label: &str) -> io::Result<String>;
    /// A visible value (authenticator code).
    fn line(&mut self, label: &str) -> io::Result<String>;
    /// Whether a person is typing (then a new password is asked for twice).
    fn interactive(&self) -> bool;
}

/// The real terminal or stdin.
pub struct StdPrompt;

impl Prompt for StdPrompt {
    fn secret(&mut self, label: &str) -> io::Result<String> {
        if self.interactive() {
            rpassword::prompt_password(label)
        } else {
            LinePrompt(io::stdin().lock()).secret(label)
        }
    }

    fn line(&mut self, label: &str) -> io::Result<String> {
        if self.interactive() {
            eprint!("{label}");
            io::stderr().flush()?;
        }
        LinePrompt(io::stdin().lock()).line(label)
    }

    fn interactive(&self) -> bool {
        io::stdin().is_terminal()
    }
}

/// Reads each answer as one line (scripts, tests).
pub struct LinePrompt<R: BufRead>(pub R);

impl<R: BufRead> Prompt for LinePrompt<R> {
    fn secret(&mut self, _label: &str) -> io::Result<String> {
        let mut line = String::new();
        if self.0.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stdin ended"));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    fn line(&mut self, label: &str) -> io::Result<String> {
        self.secret(label).map(|s| s.trim().to_string())
    }

    fn interactive(&self) -> bool {
        false
    }
}
