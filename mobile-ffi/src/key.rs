//! Store keys from an officer's PIN, for devices without a usable hardware keystore.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

use crate::error::{ApiError, Error};

/// Bytes in a store key (SQLCipher's raw 256-bit key).
pub const KEY_LEN: usize = 32;
/// Bytes in a salt from [`new_salt`].
pub const SALT_LEN: usize = 16;
/// The shortest PIN accepted (characters): six digits are a million guesses, each costing a
/// full argon2id derivation (`mobile-ffi/README.md` §"Lost phones" states what that buys).
pub const MIN_PIN_LEN: usize = 6;

/// argon2id cost: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended setting, about
/// half a second on a mid-range phone).
const M_COST_KIB: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;

/// Derives the 32-byte store key from the officer's PIN (or passphrase) and a salt, with
/// argon2id (64 MiB, 3 passes).
///
/// Create the salt once with `newSalt()` when the store is first set up and keep it next to
/// the store (it is not secret); derive the key again at each app start. The same PIN and
/// salt always give the same key. Takes about half a second and 64 MiB: call it off the UI
/// thread. Throws `InvalidKey` for a PIN shorter than 6 characters or a salt shorter than 8
/// bytes.
#[uniffi::export]
pub fn derive_key_from_pin(pin: String, salt: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    derive(&pin, &salt).map_err(ApiError::from)
}

pub(crate) fn derive(pin: &str, salt: &[u8]) -> Result<Vec<u8>, Error> {
    if pin.chars().count() < MIN_PIN_LEN {
        return Err(Error::Key("a PIN needs at least 6 characters"));
    }
    if salt.len() < 8 {
        return Err(Error::Key("a salt needs at least 8 bytes"));
    }
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(KEY_LEN))
        .map_err(|_| Error::Key("argon2 parameters"))?;
    let mut key = vec![0u8; KEY_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.as_bytes(), salt, &mut key)
        .map_err(|_| Error::Key("argon2 refused the PIN or salt"))?;
    Ok(key)
}

/// A fresh random 16-byte salt for `deriveKeyFromPin`, from the operating system's secure
/// random generator. Store it with the app's settings; it is not secret.
#[uniffi::export]
pub fn new_salt() -> Vec<u8> {
    let mut salt = vec![0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pin_and_salt_give_the_same_key_and_others_differ() {
        let salt = new_salt();
        assert_eq!(salt.len(), SALT_LEN);
        assert_ne!(salt, new_salt());
        let a = derive_key_from_pin("482913".into(), salt.clone()).unwrap();
        assert_eq!(a.len(), KEY_LEN);
        assert_eq!(
            a,
            derive_key_from_pin("482913".into(), salt.clone()).unwrap()
        );
        assert_ne!(a, derive_key_from_pin("482914".into(), salt).unwrap());
    }

    #[test]
    fn empty_pin_or_short_salt_is_invalid_key_material() {
        assert!(matches!(
            derive_key_from_pin(String::new(), new_salt()),
            Err(ApiError::InvalidKey { .. })
        ));
        assert!(matches!(
            derive_key_from_pin("1234".into(), vec![1, 2, 3]),
            Err(ApiError::InvalidKey { .. })
        ));
    }
}
