//! Times the PIN key derivation (`derive_key_from_pin`: argon2id, 64 MiB, 3 passes) and
//! prints what trying every PIN would cost on one core: the figure `mobile-ffi/README.md`
//! §"Lost phones" states. Run it optimised, on an idle machine:
//!
//! ```sh
//! cargo run --release -p mobile-ffi --example kdf_cost -- 10
//! ```

use std::time::Instant;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    let salt = mobile_ffi::new_salt();
    // Warm-up: the first derivation also pays for allocating the 64 MiB.
    let _ = mobile_ffi::derive_key_from_pin("000000".into(), salt.clone());
    let start = Instant::now();
    for i in 0..n {
        mobile_ffi::derive_key_from_pin(format!("{i:06}"), salt.clone()).expect("derive");
    }
    let per = start.elapsed().as_secs_f64() / f64::from(n);
    println!("one derivation: {:.0} ms (mean of {n})", per * 1000.0);
    for (digits, space) in [(6, 1e6), (8, 1e8)] {
        println!(
            "{digits}-digit PIN, every value on one core: {:.0} core-hours",
            space * per / 3600.0
        );
    }
}
