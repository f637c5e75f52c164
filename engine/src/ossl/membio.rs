//! An owned `BIO_s_mem` used to capture OpenSSL's printing functions as text.

use alloc::string::String;
use core::ffi::c_char;
use core::ptr;

use super::ffi;

/// A memory BIO we own; freed exactly once in `Drop`.
pub(crate) struct MemBio(*mut openssl_sys::BIO);

impl MemBio {
    /// A new empty memory BIO, or `None` if OpenSSL could not allocate one.
    pub(crate) fn new() -> Option<Self> {
        // SAFETY: BIO_s_mem returns a static method table; BIO_new returns an owned BIO or NULL.
        let b = unsafe { openssl_sys::BIO_new(openssl_sys::BIO_s_mem()) };
        (!b.is_null()).then_some(MemBio(b))
    }

    /// The raw pointer, for printing functions that take a `BIO *`.
    pub(crate) fn as_ptr(&self) -> *mut openssl_sys::BIO {
        self.0
    }

    /// Everything written so far, lossily decoded as UTF-8.
    pub(crate) fn text(&self) -> String {
        let mut data: *mut c_char = ptr::null_mut();
        // SAFETY: BIO_get_mem_data stores a pointer to the BIO's internal buffer (valid until the
        // next write or free) and returns its length; we copy it out at once.
        let len =
            unsafe { openssl_sys::BIO_ctrl(self.0, ffi::BIO_CTRL_INFO, 0, (&mut data as *mut *mut c_char).cast()) };
        if data.is_null() || len <= 0 {
            return String::new();
        }
        // SAFETY: `data` points to `len` initialised bytes owned by the BIO (see above).
        let bytes = unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len as usize) };
        String::from_utf8_lossy(bytes).into_owned()
    }
}

impl Drop for MemBio {
    fn drop(&mut self) {
        // SAFETY: we own the only reference to this BIO, created in `new`.
        unsafe { openssl_sys::BIO_free_all(self.0) };
    }
}
