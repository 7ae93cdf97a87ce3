//! Pages with large kept pieces, sent gzip-compressed to the browsers that
//! accept it, without compressing anything secret.
//!
//! A [`Piece`] is HTML rendered once and kept with the shared parts it shows
//! (a sheet's lines, the review table). A piece that may be compressed
//! ([`Piece::compressible`]) is compressed once, the first time a reader who
//! accepts gzip asks for it, as raw deflate ending on a byte boundary (a sync
//! flush) with no reference to anything before it, so it can be placed
//! anywhere in a deflate stream. A page is then sent as one gzip member: its
//! compressible pieces as they were compressed, and everything else (the
//! navigation, the forms with the session's CSRF token, what this reader may
//! do, the pieces that may not be compressed) as stored blocks, not
//! compressed at all. The CRC of the whole page is the pieces' CRCs, computed
//! once, combined with the rest's.
//!
//! Compression leaks, through the length, whether text an attacker wrote
//! repeats a secret compressed together with it (the CRIME and BREACH
//! attacks). So what differs per reader or request is never compressed, and
//! a piece is compressible only when what is in it comes from those who may
//! read all of it: a unit's own self-assessment sheet (its values, set by the
//! unit; its lines and targets, set by the head unit and the secretariat),
//! with one exception judged acceptable in ADR 0004 (the leading unit's
//! figure on criteria scored against the leader). The review table is not:
//! each member's figures sit beside the others', which it may not read
//! before the results are published. `compress_pages = false` turns it all
//! off.
//!
//! The page is rendered once by its askama template. While it renders, each
//! piece writes a marker instead of its HTML: a control character, a random
//! nonce of this process and the piece's place in the page. The markers are
//! then cut out. The nonce never leaves the process, so no text a user typed
//! can pass for a marker.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// HTML rendered once and kept; see the module's documentation.
#[derive(Clone, Default)]
pub struct Piece(Arc<Inner>);

#[derive(Default)]
struct Inner {
    html: String,
    compressible: bool,
    deflated: OnceLock<Deflated>,
}

/// A piece as raw deflate blocks, ending on a byte boundary, with its CRC-32.
struct Deflated {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl fmt::Debug for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Piece").field("len", &self.0.html.len()).finish()
    }
}

impl Piece {
    /// A piece that may be compressed: everyone who writes text into it may
    /// read all of it (see the module's documentation).
    pub fn compressible(html: String) -> Self {
        Piece(Arc::new(Inner { html, compressible: true, deflated: OnceLock::new() }))
    }

    /// A piece sent as it is, in stored blocks, when the page is compressed.
    pub fn stored(html: String) -> Self {
        Piece(Arc::new(Inner { html, compressible: false, deflated: OnceLock::new() }))
    }

    pub fn as_str(&self) -> &str {
        &self.0.html
    }

    pub fn len(&self) -> usize {
        self.0.html.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.html.is_empty()
    }

    fn deflated(&self) -> &Deflated {
        self.0.deflated.get_or_init(|| {
            let html = self.0.html.as_bytes();
            let mut crc = crc32fast::Hasher::new();
            crc.update(html);
            if !self.0.compressible {
                return Deflated { bytes: stored(html), crc };
            }
            let mut e = flate2::write::DeflateEncoder::new(
                Vec::with_capacity(html.len() / 4 + 64),
                flate2::Compression::default(),
            );
            // writing to a Vec cannot fail; `flush` is deflate's sync flush:
            // every byte given is out, and the output ends on a byte boundary
            // after an empty stored block, with no final block
            let bytes = match e.write_all(html).and_then(|()| e.flush()) {
                Ok(()) => std::mem::take(e.get_mut()),
                Err(_) => stored(html),
            };
            Deflated { bytes, crc }
        })
    }
}

thread_local! {
    /// The pieces met while a page renders for gzip, in order.
    static MET: RefCell<Option<Vec<Piece>>> = const { RefCell::new(None) };
}

const MARK: char = '\u{1}';

/// This process's nonce, 16 hex digits.
fn nonce() -> &'static str {
    static N: OnceLock<String> = OnceLock::new();
    N.get_or_init(|| {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("the operating system's random source is available");
        hex::encode(b)
    })
}

impl fmt::Display for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = MET.with(|m| {
            m.borrow_mut().as_mut().map(|v| {
                v.push(self.clone());
                v.len() - 1
            })
        });
        match at {
            Some(i) => write!(f, "{MARK}{}{i:08x}{MARK}", nonce()),
            None => f.write_str(&self.0.html),
        }
    }
}

/// Clears the pieces met even if rendering fails or panics. Not `Send`: it
/// belongs to the thread whose registry it set, so it cannot be held across
/// an `.await`.
struct Meeting(std::marker::PhantomData<*const ()>);

impl Meeting {
    fn start() -> Self {
        MET.with(|m| *m.borrow_mut() = Some(Vec::new()));
        Meeting(std::marker::PhantomData)
    }

    fn take(self) -> Vec<Piece> {
        MET.with(|m| m.borrow_mut().take()).unwrap_or_default()
    }
}

impl Drop for Meeting {
    fn drop(&mut self) {
        MET.with(|m| *m.borrow_mut() = None);
    }
}

/// Whether the request's `Accept-Encoding` accepts gzip: `gzip` with a
/// quality above zero, else `x-gzip`, else `*` (`gzip;q=0` refuses it
/// whatever else is listed).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut x_gzip, mut star) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = value.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            let accepted = q > 0.0;
            if coding.eq_ignore_ascii_case("gzip") {
                gzip = Some(gzip.unwrap_or(true) && accepted);
            } else if coding.eq_ignore_ascii_case("x-gzip") {
                x_gzip = Some(accepted);
            } else if coding == "*" {
                star = Some(accepted);
            }
        }
    }
    gzip.or(x_gzip).or(star).unwrap_or(false)
}

/// `data` as one gzip member, compressed whole (for what is the same for
/// everyone, such as our assets).
pub fn compress(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 3 + 32), flate2::Compression::best());
    // writing to a Vec cannot fail; were it to, the text goes stored
    match e.write_all(text.as_bytes()).and_then(|()| e.finish()) {
        Ok(v) => v,
        Err(_) => member(text, &[]).unwrap_or_default(),
    }
}

/// Raw deflate stored blocks (not final) holding `data`.
fn stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65_535 * 5 + 5);
    push_stored(&mut out, data);
    out
}

fn push_stored(out: &mut Vec<u8>, data: &[u8]) {
    for chunk in data.chunks(65_535) {
        let n = chunk.len() as u16;
        // BFINAL 0, BTYPE 00 (stored), padded to the byte
        out.push(0);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

/// The gzip member of a page rendered with markers: the text between them
/// stored, the pieces as compressed.
fn member(marked: &str, pieces: &[Piece]) -> Option<Vec<u8>> {
    let pieces_len: usize = pieces.iter().map(|p| p.deflated().bytes.len()).sum();
    let mut out = Vec::with_capacity(marked.len() + pieces_len + 64);
    // magic, deflate, no flags, no time, no extra flags, unknown system
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut crc = crc32fast::Hasher::new();
    let mut size: u64 = 0;
    let nonce = nonce();
    let mut rest = marked;
    // where to look for the next marker in `rest`: a MARK without the
    // nonce after it is text (typed, say) and is looked past
    let mut from = 0;
    // a char pattern is searched with memchr, not a searcher built per call
    while let Some(found) = rest[from..].find(MARK) {
        let at = from + found;
        let Some(tail) = rest[at + MARK.len_utf8()..].strip_prefix(nonce) else {
            from = at + MARK.len_utf8();
            continue;
        };
        let text = &rest[..at];
        push_stored(&mut out, text.as_bytes());
        crc.update(text.as_bytes());
        size += text.len() as u64;
        from = 0;
        let (idx, tail) = (tail.get(..8)?, tail.get(8..)?);
        let tail = tail.strip_prefix(MARK)?;
        let piece = pieces.get(usize::from_str_radix(idx, 16).ok()?)?;
        let d = piece.deflated();
        out.extend_from_slice(&d.bytes);
        crc.combine(&d.crc);
        size += piece.len() as u64;
        rest = tail;
    }
    push_stored(&mut out, rest.as_bytes());
    crc.update(rest.as_bytes());
    size += rest.len() as u64;
    // an empty final stored block
    out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    Some(out)
}

/// Renders `t`, sized about `size` bytes, as an HTML response: gzip-compressed
/// as the module says when `compress` and the request accepts it, else as it is.
pub fn page<T: askama::Template>(
    t: &T,
    headers: &HeaderMap,
    size: usize,
    compress: bool,
) -> crate::AppResult<Response> {
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if !compress || !accepts_gzip(headers) {
        let mut body = String::with_capacity(size);
        crate::view::render_into(t, &mut body)?;
        return Ok(([vary], axum::response::Html(body)).into_response());
    }
    let meeting = Meeting::start();
    let mut marked = String::with_capacity(16 * 1024);
    let rendered = crate::view::render_into(t, &mut marked);
    let pieces = meeting.take();
    rendered?;
    let body = member(&marked, &pieces)
        .ok_or_else(|| crate::AppError::Internal("gzip: a piece's marker is malformed".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            vary,
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(b: &[u8]) -> String {
        let mut s = String::new();
        flate2::read::GzDecoder::new(b).read_to_string(&mut s).expect("a valid gzip member");
        s
    }

    fn marked(parts: &[Result<&str, &Piece>]) -> (String, Vec<Piece>) {
        let meeting = Meeting::start();
        let mut s = String::new();
        for p in parts {
            match p {
                Ok(t) => s.push_str(t),
                Err(piece) => s.push_str(&piece.to_string()),
            }
        }
        (s, meeting.take())
    }

    #[test]
    fn a_page_of_stored_text_and_compressed_pieces_reads_back_whole() {
        let big: String = (0..5000).map(|i| format!("<tr><td>dòng {i}</td><td>Lưu bởi cb{i:05}</td></tr>\n")).collect();
        let a = Piece::compressible(big.clone());
        let b = Piece::compressible("<option>1.1</option>".to_string());
        let empty = Piece::default();
        // text over one stored block's 65,535 bytes, a piece twice, an empty piece
        let long_text = "x".repeat(70_000);
        let parts =
            [Ok("<html>đầu"), Err(&a), Ok(long_text.as_str()), Err(&b), Err(&empty), Err(&a), Ok("cuối</html>")];
        let (s, pieces) = marked(&parts);
        assert_eq!(pieces.len(), 4);
        let gz = member(&s, &pieces).expect("member");
        let want: String = parts.iter().map(|p| p.map_or_else(|p| p.as_str().to_string(), str::to_string)).collect();
        assert_eq!(gunzip(&gz), want);
        // the pieces are compressed, the rest is not: it is there as it is
        assert!(gz.len() < want.len() - 2 * big.len() + big.len() / 2, "{} of {}", gz.len(), want.len());
        let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(has(&gz, "<html>đầu".as_bytes()) && has(&gz, "cuối</html>".as_bytes()));
        assert!(!has(&gz, "dòng 4999".as_bytes()));
        // outside a page rendered for gzip a piece writes its HTML
        assert_eq!(a.to_string(), big);
    }

    #[test]
    fn text_like_a_marker_without_the_nonce_is_kept_as_text() {
        let p = Piece::compressible("<p>mảnh</p>".to_string());
        // a forged marker, and a lone MARK right before a real marker
        let forged = format!("{MARK}0000000000000000{:08x}{MARK}{MARK}", 0);
        let (s, pieces) = marked(&[Ok(forged.as_str()), Err(&p)]);
        assert_eq!(gunzip(&member(&s, &pieces).expect("member")), format!("{forged}<p>mảnh</p>"));
    }

    #[test]
    fn a_marker_naming_no_piece_is_refused() {
        let p = Piece::compressible("<p>a</p>".to_string());
        let (s, pieces) = marked(&[Err(&p)]);
        assert!(member(&s, &[]).is_none());
        assert!(member(&s, &pieces).is_some());
        let cut = &s[..s.len() - 2];
        assert!(member(cut, &pieces).is_none());
    }

    #[test]
    fn a_piece_that_may_not_be_compressed_goes_stored() {
        let text: String = (0..2000).map(|i| format!("<td>giải trình {i}</td>")).collect();
        let p = Piece::stored(text.clone());
        let (s, pieces) = marked(&[Ok("<table>"), Err(&p), Ok("</table>")]);
        let gz = member(&s, &pieces).expect("member");
        assert_eq!(gunzip(&gz), format!("<table>{text}</table>"));
        assert!(gz.len() > text.len(), "{} of {}", gz.len(), text.len());
        assert!(gz.windows(text.len().min(60_000)).any(|w| w == &text.as_bytes()[..text.len().min(60_000)]));
    }

    #[test]
    fn gzip_is_accepted_as_browsers_and_clients_say_it() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).expect("value"));
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&h("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&h("*")));
        assert!(accepts_gzip(&h("x-gzip")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("*;q=0.5, gzip;q=0")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&h("br, *;q=0")));
        assert!(!accepts_gzip(&h("x-gzip, gzip;q=0")));
        assert!(!accepts_gzip(&h("gzip;q=0, *")));
        assert!(accepts_gzip(&h("x-gzip;q=0, gzip")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
