//! Where uploaded files live: one interface, [`FileStore`], and its
//! implementation on a local directory, [`LocalDir`].
//!
//! Files are content-addressed: a file's key is the SHA-256 of its bytes
//! ([`BlobKey`]), so identical files are stored once and a stored file never
//! changes. The metadata (who, when, which document, which name) is in the
//! database, so application servers keep no state: several servers share
//! one directory (a network file system) or, later, one object store that
//! implements the same trait (put, get, exists by key).
//!
//! On disk a file is `<root>/<first two hex digits>/<64 hex digits>`, with
//! `<root>` = `data_dir/files`. It is written to a temporary file in the
//! same directory, flushed to disk, then renamed into place: a reader sees
//! either no file or the whole file, never part of one.

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use crate::AppState;

/// The key of a stored file: the lower-case hex SHA-256 of its content.
/// Made only from content or from a checked hex string, so a key can never
/// name a path outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// The key of some content.
    pub fn of(bytes: &[u8]) -> BlobKey {
        BlobKey(hex::encode(Sha256::digest(bytes)))
    }

    /// A key read back from the database; `None` unless 64 lower-case hex digits.
    pub fn parse(s: &str) -> Option<BlobKey> {
        thidua_core::documents::is_sha256_hex(s).then(|| BlobKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-digit prefix that spreads files over 256 directories.
    pub fn prefix(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A boxed future, so that the trait can be used as `dyn FileStore`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;

/// A store of immutable, content-addressed files.
///
/// Implementations must make `put` atomic (a concurrent `get` sees the whole
/// file or nothing) and idempotent (putting the same key twice stores it
/// once). The caller guarantees that `key` is [`BlobKey::of`] the bytes.
pub trait FileStore: Send + Sync + fmt::Debug {
    /// Stores the bytes under their key. Returns `true` when they were newly
    /// written, `false` when the store already held them.
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: Bytes) -> StoreFuture<'a, bool>;
    /// The bytes stored under a key, or `None` when there are none.
    fn get<'a>(&'a self, key: &'a BlobKey) -> StoreFuture<'a, Option<Bytes>>;
    /// Whether the store holds the key.
    fn exists<'a>(&'a self, key: &'a BlobKey) -> StoreFuture<'a, bool>;
}

/// The file store of the application: `data_dir/files` on the local disk.
/// (The place to choose another [`FileStore`] when one exists.)
pub fn store(st: &AppState) -> Arc<dyn FileStore> {
    Arc::new(LocalDir::new(st.cfg.data_dir.join("files")))
}

/// A [`FileStore`] on a local (or mounted network) directory.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> LocalDir {
        LocalDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a key's file is (or would be).
    pub fn path_of(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.prefix()).join(key.as_str())
    }

    fn put_blocking(&self, key: &BlobKey, bytes: &[u8]) -> io::Result<bool> {
        let dest = self.path_of(key);
        if dest.is_file() {
            return Ok(false);
        }
        let dir = dest.parent().ok_or_else(|| io::Error::other("no parent directory"))?;
        std::fs::create_dir_all(dir)?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = dir.join(format!(".tmp-{}-{}", key.as_str(), hex::encode(nonce)));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &dest)?;
            sync_dir(dir)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(true)
    }

    fn get_blocking(&self, key: &BlobKey) -> io::Result<Option<Bytes>> {
        match std::fs::read(self.path_of(key)) {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Makes a rename durable: flushes the directory entry (Unix; elsewhere a no-op).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| io::Error::other(format!("file task: {e}")))?
}

impl FileStore for LocalDir {
    fn put<'a>(&'a self, key: &'a BlobKey, bytes: Bytes) -> StoreFuture<'a, bool> {
        let (me, key) = (self.clone(), key.clone());
        Box::pin(blocking(move || me.put_blocking(&key, &bytes)))
    }

    fn get<'a>(&'a self, key: &'a BlobKey) -> StoreFuture<'a, Option<Bytes>> {
        let (me, key) = (self.clone(), key.clone());
        Box::pin(blocking(move || me.get_blocking(&key)))
    }

    fn exists<'a>(&'a self, key: &'a BlobKey) -> StoreFuture<'a, bool> {
        let path = self.path_of(key);
        Box::pin(blocking(move || Ok(path.is_file())))
    }
}
