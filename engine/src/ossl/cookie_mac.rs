//! The DTLS cookie's HMAC-SHA256, keyed once per acceptor.
//!
//! Keying HMAC through `EVP_DigestSignInit` (the `openssl` crate's `Signer`) makes OpenSSL 3
//! fetch the digest and signature algorithms and build a key context for every cookie, about
//! 50,000 instructions each, twice per handshake. Here an `EVP_MAC_CTX` is keyed once and
//! duplicated per cookie. OpenSSL 1.1.1 has no `EVP_MAC`; there `Signer` is cheap and stays.

#[cfg(ossl300)]
mod imp {
    use core::ptr::{self, NonNull};

    use super::super::errors::take_queue;
    use super::super::ffi;
    use crate::error::{TlsError, TlsErrorKind};

    /// A keyed HMAC-SHA256 context, duplicated for every computation; freed once in `Drop`.
    pub(crate) struct CookieMac(NonNull<openssl_sys::EVP_MAC_CTX>);

    // SAFETY: after `new` the context is only read (`EVP_MAC_CTX_dup` takes a const pointer),
    // which OpenSSL allows from several threads at once.
    unsafe impl Send for CookieMac {}
    // SAFETY: as above.
    unsafe impl Sync for CookieMac {}

    impl CookieMac {
        /// HMAC-SHA256 keyed with `secret`.
        pub(crate) fn new(secret: &[u8]) -> Result<Self, TlsError> {
            let fail = || take_queue(TlsErrorKind::Config, "HMAC key");
            // SAFETY: a fetch by name; NULL on failure. The context takes its own reference to
            // the method, so ours is released right away.
            let ctx = unsafe {
                let mac = openssl_sys::EVP_MAC_fetch(ptr::null_mut(), c"HMAC".as_ptr(), ptr::null());
                if mac.is_null() {
                    return Err(fail());
                }
                let ctx = openssl_sys::EVP_MAC_CTX_new(mac);
                openssl_sys::EVP_MAC_free(mac);
                ctx
            };
            let ctx = CookieMac(NonNull::new(ctx).ok_or_else(fail)?);
            let mut digest = *b"SHA256\0";
            // SAFETY: `digest` outlives the call, which copies the parameter; the parameter
            // list is terminated; `secret` is readable for its length.
            let ok = unsafe {
                let params = [
                    ffi::OSSL_PARAM_construct_utf8_string(c"digest".as_ptr(), digest.as_mut_ptr().cast(), 0),
                    openssl_sys::OSSL_PARAM_construct_end(),
                ];
                openssl_sys::EVP_MAC_init(ctx.0.as_ptr(), secret.as_ptr(), secret.len(), params.as_ptr())
            };
            if ok != 1 {
                return Err(fail());
            }
            Ok(ctx)
        }

        /// The MAC of `data`, or `None` if OpenSSL failed (the error queue is left for the caller).
        pub(crate) fn compute(&self, data: &[u8]) -> Option<[u8; 32]> {
            // SAFETY: the template is live and keyed; the duplicate is ours and freed below.
            let dup = NonNull::new(unsafe { openssl_sys::EVP_MAC_CTX_dup(self.0.as_ptr()) })?;
            let dup = CookieMac(dup);
            let mut out = [0u8; 32];
            let mut n = 0;
            // SAFETY: live context; `data` and `out` are valid for the lengths passed.
            let ok = unsafe {
                openssl_sys::EVP_MAC_update(dup.0.as_ptr(), data.as_ptr(), data.len()) == 1
                    && openssl_sys::EVP_MAC_final(dup.0.as_ptr(), out.as_mut_ptr(), &mut n, out.len()) == 1
            };
            (ok && n == out.len()).then_some(out)
        }
    }

    impl Drop for CookieMac {
        fn drop(&mut self) {
            // SAFETY: created by EVP_MAC_CTX_new or _dup, freed exactly once here.
            unsafe { openssl_sys::EVP_MAC_CTX_free(self.0.as_ptr()) };
        }
    }
}

#[cfg(not(ossl300))]
mod imp {
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::sign::Signer;

    use super::super::errors::config_error;
    use crate::error::TlsError;

    /// HMAC-SHA256 under a fixed key.
    pub(crate) struct CookieMac(PKey<Private>);

    impl CookieMac {
        /// HMAC-SHA256 keyed with `secret`.
        pub(crate) fn new(secret: &[u8]) -> Result<Self, TlsError> {
            PKey::hmac(secret)
                .map(CookieMac)
                .map_err(|e| config_error("HMAC key", &e))
        }

        /// The MAC of `data`, or `None` if OpenSSL failed.
        pub(crate) fn compute(&self, data: &[u8]) -> Option<[u8; 32]> {
            let mut signer = Signer::new(MessageDigest::sha256(), &self.0).ok()?;
            signer.update(data).ok()?;
            signer.sign_to_vec().ok()?.try_into().ok()
        }
    }
}

pub(crate) use imp::CookieMac;

#[cfg(test)]
mod tests {
    use super::CookieMac;
    use alloc::format;
    use alloc::string::String;

    /// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe"), computed twice from one keyed context.
    #[test]
    fn matches_rfc_4231_and_repeats() {
        let mac = CookieMac::new(b"Jefe").unwrap();
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        for _ in 0..2 {
            let got: String = mac
                .compute(b"what do ya want for nothing?")
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, want);
        }
    }
}
