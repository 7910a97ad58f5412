//! A sandbox platform on a loopback port: faults switched at run time, and a client to see
//! what reached it.

use std::net::SocketAddr;
use std::time::Duration;

use sandbox::{Down, Faults, Options, Sandbox};

/// A running sandbox (stopped when dropped with the runtime).
pub struct Platform {
    pub sandbox: Sandbox,
    pub addr: SocketAddr,
}

impl Platform {
    /// Starts a sandbox with `faults`, at most `rate_limit` writes a second (0: none), whose
    /// requirements verify after `verify_after`.
    pub async fn start(faults: Faults, rate_limit: u32, verify_after: Duration) -> Platform {
        let sandbox = Sandbox::new(
            Options {
                rate_limit,
                verify_after,
                ..Options::default()
            },
            faults,
        );
        let addr = sandbox
            .start_api("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Platform { sandbox, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The platform refuses connections.
    pub async fn down(&self) {
        self.faults(Faults {
            down: Some(Down::Refused),
            ..Faults::default()
        })
        .await;
    }

    /// The platform is back, without faults.
    pub async fn up(&self) {
        self.faults(Faults::default()).await;
    }

    pub async fn faults(&self, faults: Faults) {
        self.sandbox.set_faults(faults, self.addr).await.unwrap();
    }

    /// A platform client for the sandbox, to see what reached it.
    pub fn client(&self) -> api::platform::Client {
        api::platform::Client::new(api::platform::ClientConfig {
            base_url: self.url(),
            secret_key: platform::SANDBOX_KEY.to_string().into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }
}
