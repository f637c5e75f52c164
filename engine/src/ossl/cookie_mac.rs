//! The DTLS cookie's MAC, keyed once per acceptor.
//!
//! With OpenSSL 3 the cookie is SipHash-2-4 with a 128-bit tag: a keyed pseudo-random function
//! made for short inputs (the peer address is at most 19 bytes). Against HMAC-SHA256's two
//! SHA-256 compressions and context copies it saves about 10,000 instructions per cookie, three
//! times per handshake (the cookie is made once and checked twice). A cookie only has to be
//! unforgeable for someone who cannot see the secret, and a guess costs the forger a round
//! trip. Where SipHash is not offered (a FIPS-only provider set-up), HMAC-SHA256 is used.
//! Either way an `EVP_MAC_CTX` is keyed once and duplicated per cookie: keying through
//! `EVP_DigestSignInit` (the `openssl` crate's `Signer`) made OpenSSL 3 fetch the algorithms and
//! build a key context for every cookie, about 50,000 instructions each. OpenSSL 1.1.1 has no
//! `EVP_MAC`; there `Signer` with HMAC-SHA256 is cheap and stays.

/// A cookie: the MAC's tag (16 bytes of SipHash or 32 of HMAC-SHA256).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cookie {
    bytes: [u8; 32],
    len: usize,
}

impl Cookie {
    /// The tag's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(ossl300)]
mod imp {
    use core::ptr::{self, NonNull};

    use super::super::errors::take_queue;
    use super::super::ffi;
    use super::Cookie;
    use crate::error::{TlsError, TlsErrorKind};

    /// A keyed MAC context, duplicated for every computation; freed once in `Drop`.
    struct MacCtx(NonNull<openssl_sys::EVP_MAC_CTX>);

    impl Drop for MacCtx {
        fn drop(&mut self) {
            // SAFETY: created by EVP_MAC_CTX_new or _dup, freed exactly once here.
            unsafe { openssl_sys::EVP_MAC_CTX_free(self.0.as_ptr()) };
        }
    }

    /// The cookie MAC: a keyed template context and its tag length.
    pub(crate) struct CookieMac {
        ctx: MacCtx,
        len: usize,
    }

    // SAFETY: after `new` the context is only read (`EVP_MAC_CTX_dup` takes a const pointer),
    // which OpenSSL allows from several threads at once.
    unsafe impl Send for CookieMac {}
    // SAFETY: as above.
    unsafe impl Sync for CookieMac {}

    impl CookieMac {
        /// SipHash-2-4 keyed with the first 16 bytes of `secret`, or HMAC-SHA256 keyed with all
        /// of it where SipHash is not available.
        pub(crate) fn new(secret: &[u8; 32]) -> Result<Self, TlsError> {
            Self::siphash(&secret[..16]).or_else(|_| Self::hmac_sha256(secret))
        }

        /// SipHash-2-4 with a 128-bit tag; `key` is 16 bytes.
        pub(crate) fn siphash(key: &[u8]) -> Result<Self, TlsError> {
            let mac = Self::keyed(c"SIPHASH", key, None)?;
            // 16 is the provider's default tag size; a different answer means another
            // SipHash than the one this was written for.
            if mac.len != 16 {
                return Err(TlsError::new(TlsErrorKind::Config, "SipHash tag size"));
            }
            Ok(mac)
        }

        /// HMAC-SHA256.
        pub(crate) fn hmac_sha256(key: &[u8]) -> Result<Self, TlsError> {
            Self::keyed(c"HMAC", key, Some(c"SHA256"))
        }

        fn keyed(name: &core::ffi::CStr, key: &[u8], digest: Option<&core::ffi::CStr>) -> Result<Self, TlsError> {
            let fail = || take_queue(TlsErrorKind::Config, "cookie MAC key");
            // SAFETY: a fetch by name; NULL on failure. The context takes its own reference to
            // the method, so ours is released right away.
            let ctx = unsafe {
                let mac = openssl_sys::EVP_MAC_fetch(ptr::null_mut(), name.as_ptr(), ptr::null());
                if mac.is_null() {
                    return Err(fail());
                }
                let ctx = openssl_sys::EVP_MAC_CTX_new(mac);
                openssl_sys::EVP_MAC_free(mac);
                ctx
            };
            let ctx = MacCtx(NonNull::new(ctx).ok_or_else(fail)?);
            // SAFETY: the parameter list is terminated and only read during the call (which
            // copies what it keeps); `digest` outlives it; `key` is readable for its length.
            let ok = unsafe {
                let mut params = [
                    openssl_sys::OSSL_PARAM_construct_end(),
                    openssl_sys::OSSL_PARAM_construct_end(),
                ];
                if let Some(d) = digest {
                    params[0] = ffi::OSSL_PARAM_construct_utf8_string(c"digest".as_ptr(), d.as_ptr().cast_mut(), 0);
                }
                openssl_sys::EVP_MAC_init(ctx.0.as_ptr(), key.as_ptr(), key.len(), params.as_ptr())
            };
            if ok != 1 {
                return Err(fail());
            }
            // SAFETY: live, keyed context.
            let len = unsafe { openssl_sys::EVP_MAC_CTX_get_mac_size(ctx.0.as_ptr()) };
            if len == 0 || len > 32 {
                return Err(TlsError::new(TlsErrorKind::Config, "cookie MAC size"));
            }
            Ok(CookieMac { ctx, len })
        }

        /// The tag of `data`, or `None` if OpenSSL failed (the error queue is left for the caller).
        pub(crate) fn compute(&self, data: &[u8]) -> Option<Cookie> {
            // SAFETY: the template is live and keyed; the duplicate is ours and freed below.
            let dup = MacCtx(NonNull::new(unsafe {
                openssl_sys::EVP_MAC_CTX_dup(self.ctx.0.as_ptr())
            })?);
            let mut out = Cookie { bytes: [0; 32], len: 0 };
            // SAFETY: live context; `data` and `out.bytes` are valid for the lengths passed.
            let ok = unsafe {
                openssl_sys::EVP_MAC_update(dup.0.as_ptr(), data.as_ptr(), data.len()) == 1
                    && openssl_sys::EVP_MAC_final(dup.0.as_ptr(), out.bytes.as_mut_ptr(), &mut out.len, out.bytes.len())
                        == 1
            };
            (ok && out.len == self.len).then_some(out)
        }
    }
}

#[cfg(not(ossl300))]
mod imp {
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::sign::Signer;

    use super::super::errors::config_error;
    use super::Cookie;
    use crate::error::TlsError;

    /// HMAC-SHA256 under a fixed key.
    pub(crate) struct CookieMac(PKey<Private>);

    impl CookieMac {
        /// HMAC-SHA256 keyed with `secret`.
        pub(crate) fn new(secret: &[u8; 32]) -> Result<Self, TlsError> {
            Self::hmac_sha256(secret)
        }

        /// HMAC-SHA256.
        pub(crate) fn hmac_sha256(key: &[u8]) -> Result<Self, TlsError> {
            PKey::hmac(key).map(CookieMac).map_err(|e| config_error("HMAC key", &e))
        }

        /// The tag of `data`, or `None` if OpenSSL failed.
        pub(crate) fn compute(&self, data: &[u8]) -> Option<Cookie> {
            let mut signer = Signer::new(MessageDigest::sha256(), &self.0).ok()?;
            signer.update(data).ok()?;
            let mut out = Cookie {
                bytes: [0; 32],
                len: 32,
            };
            (signer.sign(&mut out.bytes).ok()? == 32).then_some(out)
        }
    }
}

pub(crate) use imp::CookieMac;

#[cfg(test)]
mod tests {
    use super::CookieMac;
    use alloc::format;
    use alloc::string::String;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe"), computed twice from one keyed context.
    #[test]
    fn hmac_matches_rfc_4231_and_repeats() {
        let mac = CookieMac::hmac_sha256(b"Jefe").unwrap();
        for _ in 0..2 {
            let got = mac.compute(b"what do ya want for nothing?").unwrap();
            assert_eq!(
                hex(got.as_bytes()),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            );
        }
    }

    /// The SipHash-2-4 reference vectors (128-bit tag, key 00..0f; messages empty and 00..0e).
    #[cfg(ossl300)]
    #[test]
    fn siphash_matches_the_reference_vectors_and_repeats() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mac = CookieMac::siphash(&key).unwrap();
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        for _ in 0..2 {
            assert_eq!(
                hex(mac.compute(b"").unwrap().as_bytes()),
                "a3817f04ba25a8e66df67214c7550293"
            );
            assert_eq!(
                hex(mac.compute(&msg).unwrap().as_bytes()),
                "5493e99933b0a8117e08ec0f97cfc3d9"
            );
        }
    }

    #[test]
    fn the_cookie_depends_on_the_secret_and_the_input() {
        let a = CookieMac::new(&[1; 32]).unwrap();
        let b = CookieMac::new(&[2; 32]).unwrap();
        let peer = b"\x04\x12\x34\x7f\x00\x00\x01";
        let ca = a.compute(peer).unwrap();
        assert_eq!(ca.as_bytes(), a.compute(peer).unwrap().as_bytes());
        assert_ne!(ca.as_bytes(), b.compute(peer).unwrap().as_bytes());
        assert_ne!(
            ca.as_bytes(),
            a.compute(b"\x04\x12\x35\x7f\x00\x00\x01").unwrap().as_bytes()
        );
    }
}
