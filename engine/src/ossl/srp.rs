//! SRP (RFC 5054, deprecated in OpenSSL 3 but still in libssl): `-srpvfile` and `-srpuserseed`.
//!
//! The verifier file (what `openssl srp` writes) is parsed here from bytes, so the engine still
//! opens no file: a `TXT_DB` of tab-separated lines `V verifier salt user gN-id info` (users) and
//! `I g N id` (extra groups), numbers in OpenSSL's SRP base64 alphabet. The username callback
//! looks the user up and sets the SRP parameters at once, which s_server does in two steps
//! (`SSL_ERROR_WANT_X509_LOOKUP`, then `lookup_srp_user`); the printed lines are the same.

use alloc::collections::BTreeMap;
use alloc::ffi::CString;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void, CStr};
use foreign_types::ForeignTypeRef;
use openssl::bn::{BigNum, BigNumRef};
use openssl::ex_data::Index;
use openssl::ssl::{SslContext, SslRef};

use super::callbacks::events_index;
use super::config::ServerConfigBuilder;
use super::ffi;
use crate::error::{TlsError, TlsErrorKind};
use crate::event::Event;

/// One user's verifier.
struct SrpUser {
    salt: BigNum,
    verifier: BigNum,
    g: BigNum,
    n: BigNum,
    info: Option<CString>,
}

/// The parsed verifier file, stored as `SSL_CTX` ex_data.
struct SrpVerifiers {
    users: BTreeMap<Vec<u8>, SrpUser>,
    /// `-srpuserseed`: unknown users get a fake entry derived from it (so a client cannot tell
    /// which users exist), in the default group.
    seed: Option<Vec<u8>>,
    default_g: BigNum,
    default_n: BigNum,
}

fn srp_index() -> Index<SslContext, SrpVerifiers> {
    static INDEX: std::sync::OnceLock<Index<SslContext, SrpVerifiers>> = std::sync::OnceLock::new();
    // As for the events index: failing here is an out-of-memory at start-up.
    *INDEX.get_or_init(|| SslContext::new_ex_index().expect("SSL_CTX_get_ex_new_index failed"))
}

/// `SRP_ERR_VBASE_INCOMPLETE_FILE`, s_server's `ret=` for a file it cannot parse.
const SRP_ERR_VBASE_INCOMPLETE_FILE: i32 = 1;
/// `SRP_ERR_VBASE_BN_LIB`: a number could not be decoded.
const SRP_ERR_VBASE_BN_LIB: i32 = 2;

/// A number in OpenSSL's SRP base64 (`t_fromb64`): big-endian base 64 with the alphabet
/// `0-9A-Za-z./`.
fn srp_b64(s: &str) -> Option<BigNum> {
    let mut n = BigNum::new().ok()?;
    for c in s.trim().bytes() {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            b'.' => 62,
            b'/' => 63,
            _ => return None,
        };
        n.mul_word(64).ok()?;
        n.add_word(v.into()).ok()?;
    }
    Some(n)
}

/// One of OpenSSL's known SRP groups (`SRP_get_default_gN`: "1024" … "8192"; `None` → 8192).
fn known_group(id: Option<&str>) -> Option<(BigNum, BigNum)> {
    let id = id.map(CString::new).transpose().ok()?;
    // SAFETY: the id is NUL-terminated (or NULL for the default); the result points at a static
    // table entry or is NULL.
    let gn = unsafe { ffi::SRP_get_default_gN(id.as_ref().map_or(core::ptr::null(), |c| c.as_ptr())) };
    if gn.is_null() {
        return None;
    }
    // SAFETY: a static `SRP_gN` whose g and N are static BIGNUMs; we copy them.
    unsafe {
        let gn = &*gn;
        Some((
            BigNumRef::from_ptr(gn.g.cast_mut()).to_owned().ok()?,
            BigNumRef::from_ptr(gn.n.cast_mut()).to_owned().ok()?,
        ))
    }
}

fn copy(b: &BigNum) -> Option<BigNum> {
    b.to_owned().ok()
}

/// Parses a verifier file as `SRP_VBASE_init` does; `Err(code)` is its error code.
fn parse(data: &[u8], seed: Option<&[u8]>) -> Result<SrpVerifiers, i32> {
    let text = core::str::from_utf8(data).map_err(|_| SRP_ERR_VBASE_INCOMPLETE_FILE)?;
    let mut groups: Vec<(String, BigNum, BigNum)> = Vec::new();
    let mut last_group: Option<String> = None;
    let mut users = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            return Err(SRP_ERR_VBASE_INCOMPLETE_FILE);
        }
        match f[0].as_bytes().first() {
            Some(b'I') => {
                let g = srp_b64(f[1]).ok_or(SRP_ERR_VBASE_BN_LIB)?;
                let n = srp_b64(f[2]).ok_or(SRP_ERR_VBASE_BN_LIB)?;
                groups.push((f[3].to_string(), g, n));
                last_group = Some(f[3].to_string());
            }
            Some(b'V') => {
                // Users of an unknown group are skipped, as in SRP_VBASE_init.
                let group = match groups.iter().find(|(id, _, _)| id == f[4]) {
                    Some((_, g, n)) => copy(g).zip(copy(n)),
                    None => known_group(Some(f[4])),
                };
                let Some((g, n)) = group else { continue };
                let user = SrpUser {
                    salt: srp_b64(f[2]).ok_or(SRP_ERR_VBASE_BN_LIB)?,
                    verifier: srp_b64(f[1]).ok_or(SRP_ERR_VBASE_BN_LIB)?,
                    g,
                    n,
                    info: CString::new(f[5]).ok(),
                };
                // Later lines win (OpenSSL inserts each user at the front of its list).
                users.insert(f[3].as_bytes().to_vec(), user);
            }
            _ => {}
        }
    }
    let default = match &last_group {
        Some(id) => groups
            .iter()
            .find(|(gid, _, _)| gid == id)
            .and_then(|(_, g, n)| copy(g).zip(copy(n))),
        None => known_group(None),
    };
    let (default_g, default_n) = default.ok_or(SRP_ERR_VBASE_BN_LIB)?;
    Ok(SrpVerifiers {
        users,
        seed: seed.map(<[u8]>::to_vec),
        default_g,
        default_n,
    })
}

impl ServerConfigBuilder {
    /// `-srpvfile` (the file's contents) and `-srpuserseed`: accept SRP clients whose user is in
    /// the verifier file. `Err` carries s_server's `ret=` code in its reason.
    pub fn srp_verifiers(&mut self, data: &[u8], seed: Option<&str>) -> Result<(), TlsError> {
        let v = parse(data, seed.map(str::as_bytes))
            .map_err(|code| TlsError::new(TlsErrorKind::Config, alloc::format!("ret={code}")))?;
        self.ctx.set_ex_data(srp_index(), v);
        // SAFETY: `ctx` is a live SSL_CTX; the callback is a plain function reading its state
        // from the context's ex_data, which lives as long as the context.
        if unsafe { ffi::SSL_CTX_set_srp_username_callback(self.ctx.as_ptr(), Some(username_cb)) } != 1 {
            return Err(super::errors::take_queue(TlsErrorKind::Config, "SRP callback"));
        }
        Ok(())
    }
}

/// A fake user for `-srpuserseed` (`SRP_VBASE_get1_by_user`): salt SHA-1(seed ‖ user), a random
/// verifier, the default group, no info.
fn fake_user(v: &SrpVerifiers, seed: &[u8], name: &[u8]) -> Option<SrpUser> {
    let mut h = openssl::sha::Sha1::new();
    h.update(seed);
    h.update(name);
    let mut rnd = [0u8; 20];
    openssl::rand::rand_priv_bytes(&mut rnd).ok()?;
    Some(SrpUser {
        salt: BigNum::from_slice(&h.finish()).ok()?,
        verifier: BigNum::from_slice(&rnd).ok()?,
        g: copy(&v.default_g)?,
        n: copy(&v.default_n)?,
        info: None,
    })
}

/// `SSL_AD_INTERNAL_ERROR`.
const SSL_AD_INTERNAL_ERROR: c_int = 80;
/// `SSL3_AL_FATAL`.
const SSL3_AL_FATAL: c_int = 2;

/// s_server's `ssl_srp_server_param_cb` (with `lookup_srp_user` folded in).
unsafe extern "C" fn username_cb(ssl: *mut openssl_sys::SSL, ad: *mut c_int, _arg: *mut c_void) -> c_int {
    // SAFETY: OpenSSL calls this with a live SSL and a writable alert out-pointer.
    let ssl_ref = unsafe { SslRef::from_ptr(ssl) };
    // SAFETY: live SSL; the name (or NULL) is owned by the SSL and copied at once.
    let name: Vec<u8> = unsafe {
        let p = ffi::SSL_get_srp_username(ssl);
        if p.is_null() {
            Vec::new()
        } else {
            CStr::from_ptr(p).to_bytes().to_vec()
        }
    };
    let Some(v) = ssl_ref.ssl_context().ex_data(srp_index()) else {
        return SSL3_AL_FATAL;
    };
    let user = match v.users.get(&name) {
        Some(u) => copy(&u.salt)
            .zip(copy(&u.verifier))
            .zip(copy(&u.g).zip(copy(&u.n)))
            .map(|((salt, verifier), (g, n))| SrpUser {
                salt,
                verifier,
                g,
                n,
                info: u.info.clone(),
            }),
        None => v.seed.as_deref().and_then(|seed| fake_user(v, seed, &name)),
    };
    let info = user.as_ref().map(|u| {
        u.info
            .as_ref()
            .map_or("(null)".to_string(), |i| i.to_string_lossy().into_owned())
    });
    if let Some(ev) = ssl_ref.ex_data(events_index()) {
        ev.push(Event::SrpLookup {
            user: String::from_utf8_lossy(&name).into_owned(),
            info: info.clone(),
        });
    }
    let Some(u) = user else {
        return SSL3_AL_FATAL;
    };
    let info_ptr: *mut c_char = u.info.as_ref().map_or(core::ptr::null_mut(), |i| i.as_ptr().cast_mut());
    // SAFETY: live SSL; every BIGNUM is ours and live for the call; OpenSSL copies all of them
    // and the info string (it only reads through the non-const pointers).
    let r = unsafe {
        ffi::SSL_set_srp_server_param(
            ssl,
            u.n.as_ptr(),
            u.g.as_ptr(),
            u.salt.as_ptr(),
            u.verifier.as_ptr(),
            info_ptr,
        )
    };
    if r < 0 {
        // SAFETY: the alert out-pointer OpenSSL passed in.
        unsafe { *ad = SSL_AD_INTERNAL_ERROR };
        return SSL3_AL_FATAL;
    }
    drop(u);
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn srp_base64_is_a_base_64_number() {
        assert_eq!(srp_b64("0").unwrap().to_vec(), Vec::<u8>::new());
        assert_eq!(srp_b64("10").unwrap().to_vec(), vec![64]);
        assert_eq!(srp_b64("//").unwrap().to_vec(), vec![0x0f, 0xff]);
        assert!(srp_b64("a-b").is_none());
    }

    #[test]
    fn verifier_files_parse_like_srp_vbase_init() {
        let v = parse(b"V\t1A\tB2\talice\t1024\tinfo\nV\tx\ty\tbob\tnope\t\n", None).unwrap();
        assert_eq!(v.users.len(), 1, "a user of an unknown group is skipped");
        let a = &v.users[b"alice".as_slice()];
        assert_eq!(a.verifier.to_vec(), vec![74]);
        assert_eq!(a.info.as_ref().unwrap().to_str().unwrap(), "info");
        assert_eq!(
            parse(b"V\tonly\tthree\n", None).err(),
            Some(SRP_ERR_VBASE_INCOMPLETE_FILE)
        );
    }
}
