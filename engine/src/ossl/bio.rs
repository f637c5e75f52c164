//! [`SslIo`]: one `SSL` over a [`Transport`] through a `BIO_METHOD` of our own.
//!
//! The `openssl` crate's `SslStream` would do the same over any `Read + Write`, but it builds a
//! new `BIO_METHOD` for every connection, wraps each BIO call in `catch_unwind` and `io::Error`
//! bookkeeping, and answers `BIO_eof` with 0, which made a BIO callback on every call necessary
//! just to tell OpenSSL that the peer's transport ended. Here one static method per transport
//! type reads and writes the transport's buffers directly and answers `BIO_CTRL_EOF` itself.

use core::ffi::{c_char, c_int, c_long, c_void};
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::NonNull;
use foreign_types::ForeignType;
use openssl::error::ErrorStack;
use openssl::ssl::{ErrorCode, Ssl, SslRef};

use super::conn::Transport;

/// A process-wide `BIO_METHOD` for one transport type; lives as long as the process (like
/// OpenSSL's built-in methods), so it is never freed.
pub struct BioMethod(NonNull<openssl_sys::BIO_METHOD>);

// SAFETY: a finished method table is read-only; OpenSSL reads it from any thread.
unsafe impl Send for BioMethod {}
// SAFETY: as above.
unsafe impl Sync for BioMethod {}

impl BioMethod {
    /// The method table whose callbacks move bytes through a `T`.
    pub(crate) fn new<T: Transport>() -> Result<Self, ErrorStack> {
        // SAFETY: the name is a static C string, so whether OpenSSL copies it or keeps the
        // pointer it stays valid; NULL on allocation failure.
        let m = unsafe { openssl_sys::BIO_meth_new(openssl_sys::BIO_TYPE_NONE, c"sserve transport".as_ptr()) };
        let m = NonNull::new(m).ok_or_else(ErrorStack::get)?;
        // SAFETY: `m` is a live method table not yet shared; each setter stores a function of
        // exactly the type OpenSSL calls it with, and only fails for a NULL table.
        unsafe {
            openssl_sys::BIO_meth_set_write__fixed_rust(m.as_ptr(), Some(bwrite::<T>));
            openssl_sys::BIO_meth_set_read__fixed_rust(m.as_ptr(), Some(bread::<T>));
            openssl_sys::BIO_meth_set_ctrl__fixed_rust(m.as_ptr(), Some(ctrl::<T>));
            openssl_sys::BIO_meth_set_create__fixed_rust(m.as_ptr(), Some(create));
            openssl_sys::BIO_meth_set_destroy__fixed_rust(m.as_ptr(), Some(destroy));
        }
        Ok(BioMethod(m))
    }
}

/// The transport a BIO of our method moves bytes through.
///
/// # Safety
/// `bio` must be a live BIO of a [`BioMethod`] built for `T`, whose data pointer was set by
/// [`SslIo::new`] and whose `SslIo` is in a call into OpenSSL (so nothing else borrows it).
unsafe fn transport<'a, T>(bio: *mut openssl_sys::BIO) -> &'a mut T {
    // SAFETY: see the function's contract.
    unsafe { &mut *openssl_sys::BIO_get_data(bio).cast::<T>() }
}

unsafe extern "C" fn bwrite<T: Transport>(bio: *mut openssl_sys::BIO, buf: *const c_char, len: c_int) -> c_int {
    // SAFETY: OpenSSL calls this on a BIO of our method (see `transport`) with `len` readable
    // bytes at `buf`.
    unsafe {
        openssl_sys::BIO_clear_retry_flags(bio);
        let data = core::slice::from_raw_parts(buf.cast::<u8>(), usize::try_from(len).unwrap_or(0));
        transport::<T>(bio).write_ciphertext(data);
    }
    len
}

unsafe extern "C" fn bread<T: Transport>(bio: *mut openssl_sys::BIO, buf: *mut c_char, len: c_int) -> c_int {
    // SAFETY: OpenSSL calls this on a BIO of our method (see `transport`) with room for `len`
    // bytes at `buf`, which may be uninitialised (hence `MaybeUninit`).
    unsafe {
        openssl_sys::BIO_clear_retry_flags(bio);
        let out = core::slice::from_raw_parts_mut(buf.cast::<MaybeUninit<u8>>(), usize::try_from(len).unwrap_or(0));
        match transport::<T>(bio).read_ciphertext(out) {
            // At most `len`, so it fits.
            Some(n) => n as c_int,
            None => {
                // Nothing yet: a non-blocking socket's EAGAIN.
                openssl_sys::BIO_set_retry_read(bio);
                -1
            }
        }
    }
}

unsafe extern "C" fn ctrl<T: Transport>(
    bio: *mut openssl_sys::BIO,
    cmd: c_int,
    _num: c_long,
    _ptr: *mut c_void,
) -> c_long {
    match cmd {
        // SAFETY: OpenSSL calls this on a BIO of our method (see `transport`).
        openssl_sys::BIO_CTRL_FLUSH => unsafe {
            openssl_sys::BIO_clear_retry_flags(bio);
            if transport::<T>(bio).flush() {
                1
            } else {
                openssl_sys::BIO_set_retry_write(bio);
                0
            }
        },
        // Asked only after a read returned 0 without "retry": then a cut-short stream gets
        // s_server's `decode_error` alert, or a clean end with `-ignore_unexpected_eof`.
        // SAFETY: OpenSSL calls this on a BIO of our method (see `transport`).
        openssl_sys::BIO_CTRL_EOF => c_long::from(unsafe { transport::<T>(bio) }.input_ended()),
        // Everything else (pending counts, the datagram MTU queries DTLS makes without
        // `SSL_OP_NO_QUERY_MTU`, which the engine always sets) has no answer.
        _ => 0,
    }
}

unsafe extern "C" fn create(bio: *mut openssl_sys::BIO) -> c_int {
    // SAFETY: a BIO being created; the data pointer is set by `SslIo::new` before use.
    unsafe { openssl_sys::BIO_set_init(bio, 0) };
    1
}

unsafe extern "C" fn destroy(_bio: *mut openssl_sys::BIO) -> c_int {
    // The transport belongs to the `SslIo`, which frees it after the `SSL` (and so this BIO).
    1
}

/// Copies `src` into the start of `dst` (`<[MaybeUninit<u8>]>::write_copy_of_slice`, newer
/// than the crate's minimum Rust).
pub(crate) fn copy_to_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    let dst = &mut dst[..src.len()];
    // SAFETY: `dst` has exactly `src.len()` writable elements of the same layout as `u8`, and a
    // `&mut` slice cannot overlap the shared `src`.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len()) };
}

/// Why an `SSL_*` I/O call did not complete: `SSL_get_error`'s code and, for a failure,
/// OpenSSL's error queue.
#[derive(Debug)]
pub struct SslIoError {
    /// `SSL_get_error`'s answer.
    pub(crate) code: ErrorCode,
    /// The error queue, taken for `SSL_ERROR_SSL` and for a `SSL_ERROR_SYSCALL` that left one.
    pub(crate) stack: Option<ErrorStack>,
}

/// One server `SSL` whose read and write BIO is a transport of type `T`, owned here.
pub struct SslIo<T> {
    /// Freed first (in `Drop`): freeing the `SSL` frees its BIO, which points at `transport`.
    ssl: ManuallyDrop<Ssl>,
    /// Boxed so the BIO's data pointer stays valid however the `SslIo` moves.
    transport: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: the `SSL` and the transport are owned by this value alone and only reached through
// it (`&mut self` for anything that makes OpenSSL call the BIO), as with the crate's SslStream.
unsafe impl<T: Send> Send for SslIo<T> {}

impl<T: Transport> SslIo<T> {
    /// Puts `transport` under `ssl` as both its read and its write BIO.
    pub(crate) fn new(ssl: Ssl, transport: T) -> Result<Self, ErrorStack> {
        let transport = NonNull::from(alloc::boxed::Box::leak(alloc::boxed::Box::new(transport)));
        let io = SslIo {
            ssl: ManuallyDrop::new(ssl),
            transport,
            _owns: PhantomData,
        };
        // SAFETY: the method table is live for the whole process; BIO_new returns an owned BIO
        // or NULL.
        let bio = unsafe { openssl_sys::BIO_new(T::bio_method().0.as_ptr()) };
        if bio.is_null() {
            return Err(ErrorStack::get());
        }
        // SAFETY: `bio` is ours; its data pointer is the boxed transport, which outlives it
        // (see `Drop`). SSL_set_bio with the same BIO twice takes our one reference.
        unsafe {
            openssl_sys::BIO_set_data(bio, io.transport.as_ptr().cast());
            openssl_sys::BIO_set_init(bio, 1);
            openssl_sys::SSL_set_bio(io.ssl.as_ptr(), bio, bio);
        }
        Ok(io)
    }
}

impl<T> SslIo<T> {
    /// The `SSL`.
    pub(crate) fn ssl(&self) -> &SslRef {
        &self.ssl
    }

    /// The transport.
    pub(crate) fn get_ref(&self) -> &T {
        // SAFETY: the box is live until `Drop`; OpenSSL only reaches it during calls made
        // through `&mut self`, so no mutable borrow exists now.
        unsafe { self.transport.as_ref() }
    }

    /// The transport, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: as in `get_ref`; `&mut self` excludes any other borrow.
        unsafe { self.transport.as_mut() }
    }

    /// The result of an `SSL_*` call that returned `ret`, as an error.
    fn error(&mut self, ret: c_int) -> SslIoError {
        // SAFETY: live SSL; `ret` is what the last call on it returned.
        let code = ErrorCode::from_raw(unsafe { openssl_sys::SSL_get_error(self.ssl.as_ptr(), ret) });
        let stack = match code {
            ErrorCode::SSL => Some(ErrorStack::get()),
            ErrorCode::SYSCALL => Some(ErrorStack::get()).filter(|s| !s.errors().is_empty()),
            _ => None,
        };
        SslIoError { code, stack }
    }

    /// `SSL_do_handshake`.
    pub(crate) fn do_handshake(&mut self) -> Result<(), SslIoError> {
        // SAFETY: live SSL over our transport BIO.
        match unsafe { openssl_sys::SSL_do_handshake(self.ssl.as_ptr()) } {
            r if r > 0 => Ok(()),
            r => Err(self.error(r)),
        }
    }

    /// `SSL_read_ex` into possibly uninitialised memory; `Ok(n)`: the first `n` bytes of
    /// `buf` are initialised.
    pub(crate) fn read_uninit(&mut self, buf: &mut [MaybeUninit<u8>]) -> Result<usize, SslIoError> {
        let mut n = 0;
        // SAFETY: live SSL; OpenSSL writes at most `buf.len()` bytes into `buf`.
        match unsafe { openssl_sys::SSL_read_ex(self.ssl.as_ptr(), buf.as_mut_ptr().cast(), buf.len(), &mut n) } {
            r if r > 0 => Ok(n),
            r => Err(self.error(r)),
        }
    }

    /// `SSL_write_ex`: how much of `data` was taken.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<usize, SslIoError> {
        let mut n = 0;
        // SAFETY: live SSL; OpenSSL reads at most `data.len()` bytes from `data`.
        match unsafe { openssl_sys::SSL_write_ex(self.ssl.as_ptr(), data.as_ptr().cast(), data.len(), &mut n) } {
            r if r > 0 => Ok(n),
            r => Err(self.error(r)),
        }
    }

    /// `SSL_read_early_data`: `Ok(0)` once the early data is over.
    pub(crate) fn read_early_data(&mut self, buf: &mut [u8]) -> Result<usize, SslIoError> {
        let mut n = 0;
        // SAFETY: live SSL; OpenSSL writes at most `buf.len()` bytes into `buf`.
        match unsafe { openssl_sys::SSL_read_early_data(self.ssl.as_ptr(), buf.as_mut_ptr().cast(), buf.len(), &mut n) }
        {
            openssl_sys::SSL_READ_EARLY_DATA_SUCCESS => Ok(n),
            openssl_sys::SSL_READ_EARLY_DATA_FINISH => Ok(0),
            r => Err(self.error(r)),
        }
    }

    /// `SSL_shutdown`: sends our close_notify (an error: it could not be sent).
    pub(crate) fn shutdown(&mut self) -> Result<(), SslIoError> {
        // SAFETY: live SSL over our transport BIO.
        match unsafe { openssl_sys::SSL_shutdown(self.ssl.as_ptr()) } {
            r if r >= 0 => Ok(()),
            r => Err(self.error(r)),
        }
    }
}

impl<T> Drop for SslIo<T> {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here, before the transport its BIO points at.
        unsafe { ManuallyDrop::drop(&mut self.ssl) };
        // SAFETY: the box leaked in `new`, no longer reachable from OpenSSL; freed once.
        drop(unsafe { alloc::boxed::Box::from_raw(self.transport.as_ptr()) });
    }
}
