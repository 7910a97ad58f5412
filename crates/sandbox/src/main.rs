//! `desk-sandbox`: run the platform sandbox. See the crate docs for what it does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use desk_sandbox::{Down, Faults, Options, Sandbox};

#[derive(Parser)]
#[command(
    name = "desk-sandbox",
    version,
    about = "A Stripe-Connect-compatible platform sandbox with fault injection"
)]
struct Args {
    /// API port (0 = any free port; the chosen one is printed)
    #[arg(long, default_value_t = 12111)]
    port: u16,
    /// Admin API port (`/__sandbox/faults`, `/__sandbox/stats`); 0 = any free port
    #[arg(long, default_value_t = 12112)]
    admin_port: u16,
    /// Listen on this address (loopback by default: the sandbox has no TLS)
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// The secret key clients must send as `Authorization: Bearer …`
    #[arg(long, default_value = platform::SANDBOX_KEY, env = "DESK_SANDBOX_KEY")]
    key: String,
    /// Writes per second before 429 (0 = unlimited; Stripe test mode allows 25)
    #[arg(long, default_value_t = 25)]
    rate_limit: u32,
    /// Seconds verification stays pending after a change
    #[arg(long, default_value_t = 5.0)]
    verify_after: f64,
    /// Start down: `unavailable` (503) or `refused` (the API port closed)
    #[arg(long, value_parser = parse_down)]
    down: Option<Down>,
    /// Share of requests answered 500 before processing (0.0-1.0)
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of requests answered 429 before processing (0.0-1.0)
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// `Retry-After` seconds on injected 429s
    #[arg(long, default_value_t = 1.0)]
    retry_after: f64,
    /// Milliseconds added to every answer
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests processed and then left unanswered for --hang-ms
    #[arg(long, default_value_t = 0.0)]
    timeout_rate: f64,
    #[arg(long, default_value_t = 30_000)]
    hang_ms: u64,
    /// Share of requests processed and then dropped without an answer
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Process and then drop the first request of every idempotency key
    #[arg(long)]
    drop_first_attempt: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn parse_down(s: &str) -> Result<Down, String> {
    match s {
        "unavailable" => Ok(Down::Unavailable),
        "refused" => Ok(Down::Refused),
        _ => Err("must be unavailable or refused".into()),
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    if !(args.verify_after.is_finite() && args.verify_after >= 0.0) {
        eprintln!("desk-sandbox: --verify-after must be a number of seconds ≥ 0");
        std::process::exit(2);
    }
    let faults = Faults {
        down: args.down,
        error_rate: args.error_rate,
        rate_429: args.rate_429,
        retry_after_secs: args.retry_after,
        latency_ms: args.latency_ms,
        timeout_rate: args.timeout_rate,
        hang_ms: args.hang_ms,
        drop_rate: args.drop_rate,
        drop_first_attempt: args.drop_first_attempt,
    };
    for (name, rate) in [
        ("--error-rate", faults.error_rate),
        ("--rate-429", faults.rate_429),
        ("--timeout-rate", faults.timeout_rate),
        ("--drop-rate", faults.drop_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            eprintln!("desk-sandbox: {name} must be between 0.0 and 1.0");
            std::process::exit(2);
        }
    }
    let sandbox = Sandbox::new(
        Options {
            secret_key: args.key,
            rate_limit: args.rate_limit,
            verify_after: Duration::from_secs_f64(args.verify_after),
            seed: args.seed,
        },
        faults.clone(),
    );
    let mut api_addr = SocketAddr::new(args.host, args.port);
    if faults.down != Some(Down::Refused) {
        match sandbox.start_api(api_addr).await {
            Ok(a) => api_addr = a,
            Err(e) => {
                eprintln!("desk-sandbox: cannot listen on {api_addr}: {e}");
                std::process::exit(1);
            }
        }
    }
    let admin = match sandbox
        .start_admin(SocketAddr::new(args.host, args.admin_port), api_addr)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("desk-sandbox: cannot listen on the admin port: {e}");
            std::process::exit(1);
        }
    };
    println!("desk-sandbox: API on http://{api_addr}, admin on http://{admin}/__sandbox/");
    let _ = tokio::signal::ctrl_c().await;
}
