//! Support for the workspace's journeys and end-to-end tests.
//!
//! [`e2e`] drives the real Boarding Desk window: it builds the app, starts Xvfb when there is no
//! display, starts tauri-driver (which runs WebKitWebDriver), launches the app binary against a
//! fresh temp data folder and hands the test a WebDriver client. Every process it starts is
//! stopped when the [`e2e::App`] guard drops, even when the test panics.

pub mod e2e;
pub mod paths;
mod process;
pub mod spec;
