//! Group documents (quy chế, giao ước, kế hoạch, biên bản…): their kinds,
//! the file types accepted, the limits, and the content sniffing that
//! decides what an uploaded file really is.
//!
//! A file's type is decided by its content, never by its name or the
//! content type a browser claims: PDF by its `%PDF-` header, PNG, JPEG and
//! WebP by their signatures, Word and Excel (`.docx`, `.xlsx`) by reading
//! the zip central directory (without decompressing anything) and finding
//! `[Content_Types].xml` with `word/document.xml` or `xl/workbook.xml`.
//! The zip is refused when it is encrypted, uses unusual compression, has
//! duplicate names, too many parts, declares too much uncompressed content,
//! compresses a big part suspiciously well (a zip bomb), or carries macros.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::Invalid;

use crate::org::coded_enum as coded;

coded!(
    /// What a group document is.
    DocumentKind {
        Regulation = "regulation" => "Quy chế hoạt động",
        Covenant = "covenant" => "Giao ước thi đua",
        Plan = "plan" => "Kế hoạch",
        Minutes = "minutes" => "Biên bản",
        Other = "other" => "Khác",
    }
);

coded!(
    /// The file types accepted, as detected from the content.
    FileType {
        Pdf = "pdf" => "PDF",
        Docx = "docx" => "Word (.docx)",
        Xlsx = "xlsx" => "Excel (.xlsx)",
        Png = "png" => "Ảnh PNG",
        Jpeg = "jpeg" => "Ảnh JPEG",
        Webp = "webp" => "Ảnh WebP",
    }
);

impl FileType {
    /// The MIME type sent with a download.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileType::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Webp => "image/webp",
        }
    }

    /// The usual file name extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Docx => "docx",
            FileType::Xlsx => "xlsx",
            FileType::Png => "png",
            FileType::Jpeg => "jpg",
            FileType::Webp => "webp",
        }
    }

    /// Whether a file name extension (any case) is one of this type's.
    pub fn has_extension(self, ext: &str) -> bool {
        let e = ext.to_ascii_lowercase();
        match self {
            FileType::Jpeg => matches!(e.as_str(), "jpg" | "jpeg" | "jpe" | "jfif"),
            other => e == other.extension(),
        }
    }
}

/// What the upload form and the messages say is accepted.
pub const ACCEPTED_TEXT: &str = "PDF, Word (.docx), Excel (.xlsx), ảnh PNG, JPEG hoặc WebP";

/// The `accept` attribute of the file input (a hint for the browser only).
pub const ACCEPT_ATTR: &str = ".pdf,.docx,.xlsx,.png,.jpg,.jpeg,.webp,application/pdf,\
application/vnd.openxmlformats-officedocument.wordprocessingml.document,\
application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,image/png,image/jpeg,image/webp";

/// Longest note of a version, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// Longest stored file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 150;

/// The limits applied to an uploaded document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Most parts in a `.docx`/`.xlsx` zip container.
    pub max_entries: usize,
    /// Largest total declared uncompressed size of those parts, in bytes.
    pub max_uncompressed: u64,
    /// Parts bigger than this (uncompressed) have their compression ratio checked.
    pub bomb_min_size: u64,
    /// Highest accepted uncompressed:compressed ratio of such a part.
    pub bomb_max_ratio: u64,
}

impl Limits {
    /// 10 MiB per file (under the server's default 12 MB request limit, with
    /// room for the form); 2 000 parts, 200 MiB uncompressed, and the same
    /// zip-bomb rule as the spreadsheet import (a part over 1 MiB compressed
    /// more than 200:1).
    pub const DEFAULT: Limits = Limits {
        max_bytes: 10 * 1024 * 1024,
        max_entries: 2000,
        max_uncompressed: 200 * 1024 * 1024,
        bomb_min_size: 1024 * 1024,
        bomb_max_ratio: 200,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// What a refused file seems to be, to say so in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A web page or other markup (`<html`, `<?xml`, `<svg`…).
    Markup,
    /// Plain text (CSV, TXT…).
    Text,
    /// A program (Windows `MZ`, ELF, Mach-O) or a script with `#!`.
    Program,
    /// The old Office format (`.doc`, `.xls`, `.ppt`) or a password-protected Office file.
    OldOffice,
    /// A PowerPoint `.pptx`.
    Presentation,
    /// An OpenDocument file (LibreOffice `.odt`, `.ods`…).
    OpenDocument,
    /// A zip archive that is not a Word or Excel file.
    Archive,
    /// Another compressed archive (RAR, 7z, gzip).
    OtherArchive,
    /// Another image (GIF, BMP, TIFF, HEIC).
    OtherImage,
    /// Nothing recognised.
    Unknown,
}

/// Why an uploaded file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Zero bytes.
    Empty,
    /// Larger than the limit (bytes).
    TooLarge { limit: usize },
    /// Not one of the accepted types.
    NotAccepted(Seen),
    /// A Word or Excel file with more parts than the limit.
    TooManyParts { limit: usize },
    /// A Word or Excel file declaring more uncompressed content than the limit (bytes).
    ContentTooLarge { limit: u64 },
    /// A part compressed suspiciously well.
    ZipBomb,
    /// An encrypted zip, or one with an unusual compression method.
    Encrypted,
    /// A macro-enabled Word or Excel file (`.docm`, `.xlsm`).
    Macros,
    /// A damaged file: it starts like an accepted type but its structure is broken.
    Damaged(FileType),
}

impl Refusal {
    /// The message a user sees: what is wrong and what to do.
    pub fn message_vi(&self) -> String {
        let accepted = format!("Chỉ nhận tệp {ACCEPTED_TEXT}.");
        match self {
            Refusal::Empty => "Tệp tải lên rỗng (0 byte). Hãy chọn đúng tệp rồi tải lên lại.".into(),
            Refusal::TooLarge { limit } => format!(
                "Tệp quá lớn: tối đa {} cho mỗi tệp. Hãy nén ảnh, giảm độ phân giải khi quét (150–200 dpi là đủ) \
                 hoặc tách tệp rồi tải lên lại.",
                format_size(*limit as u64)
            ),
            Refusal::NotAccepted(seen) => {
                let what = match seen {
                    Seen::Markup => "Tệp là trang web hoặc văn bản đánh dấu (HTML, XML, SVG), không phải tài liệu.",
                    Seen::Text => "Tệp là văn bản thuần (ví dụ TXT, CSV), không phải tài liệu.",
                    Seen::Program => "Tệp là chương trình hoặc mã lệnh, không được phép tải lên.",
                    Seen::OldOffice => {
                        "Tệp là Word, Excel định dạng cũ (.doc, .xls) hoặc có đặt mật khẩu. Hãy bỏ mật khẩu, \
                         chọn Lưu thành (Save As) .docx, .xlsx hoặc PDF rồi tải lên lại."
                    }
                    Seen::Presentation => {
                        "Tệp là PowerPoint (.pptx). Hãy lưu thành PDF (Tệp → Lưu thành → PDF) rồi tải lên lại."
                    }
                    Seen::OpenDocument => {
                        "Tệp là định dạng OpenDocument (LibreOffice .odt, .ods). Hãy lưu thành .docx, .xlsx \
                         hoặc PDF rồi tải lên lại."
                    }
                    Seen::Archive => "Tệp là tệp nén ZIP nhưng không phải Word (.docx) hay Excel (.xlsx).",
                    Seen::OtherArchive => "Tệp là tệp nén (RAR, 7z, gzip). Hãy giải nén và tải lên từng tệp.",
                    Seen::OtherImage => {
                        "Ảnh có định dạng không được nhận (GIF, BMP, TIFF, HEIC). Hãy lưu ảnh thành PNG hoặc JPEG."
                    }
                    Seen::Unknown => "Không nhận ra định dạng của tệp.",
                };
                format!("{what} {accepted}")
            }
            Refusal::TooManyParts { limit } => {
                format!("Tệp Word, Excel có quá nhiều thành phần (tối đa {limit}). Hãy lưu thành PDF rồi tải lên lại.")
            }
            Refusal::ContentTooLarge { limit } => format!(
                "Nội dung tệp Word, Excel khi giải nén quá lớn (tối đa {}). Hãy lưu thành PDF rồi tải lên lại.",
                format_size(*limit)
            ),
            Refusal::ZipBomb => {
                "Tệp có thành phần nén bất thường (có thể là tệp độc hại), không được nhận. Hãy mở tệp bằng Word \
                 hoặc Excel, lưu lại rồi tải lên lại."
                    .into()
            }
            Refusal::Encrypted => {
                "Tệp nén được mã hoá hoặc dùng kiểu nén không được hỗ trợ. Hãy bỏ mật khẩu, lưu lại bằng Word hoặc \
                 Excel rồi tải lên lại."
                    .into()
            }
            Refusal::Macros => {
                "Tệp Word, Excel có macro (.docm, .xlsm) không được nhận. Hãy lưu thành .docx, .xlsx (không có \
                 macro) hoặc PDF rồi tải lên lại."
                    .into()
            }
            Refusal::Damaged(t) => format!(
                "Tệp có vẻ là {} nhưng bị hỏng hoặc không đầy đủ. Hãy mở tệp trên máy, lưu lại rồi tải lên lại.",
                t.label()
            ),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message_vi())
    }
}

/// Decides the type of an uploaded file from its content, applying the limits.
pub fn sniff(bytes: &[u8], limits: &Limits) -> Result<FileType, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(Refusal::TooLarge { limit: limits.max_bytes });
    }
    if is_pdf(bytes) {
        return Ok(FileType::Pdf);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        // the first chunk is the 13-byte image header
        return if bytes.get(8..16) == Some(b"\0\0\0\x0dIHDR") {
            Ok(FileType::Png)
        } else {
            Err(Refusal::Damaged(FileType::Png))
        };
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(FileType::Jpeg);
    }
    if bytes.len() >= 16 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return if matches!(&bytes[12..16], b"VP8 " | b"VP8L" | b"VP8X") {
            Ok(FileType::Webp)
        } else {
            Err(Refusal::Damaged(FileType::Webp))
        };
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return sniff_zip(bytes, limits);
    }
    Err(Refusal::NotAccepted(seen(bytes)))
}

/// `%PDF-1.x` or `%PDF-2.x` at the very start.
fn is_pdf(bytes: &[u8]) -> bool {
    bytes.len() >= 8
        && bytes.starts_with(b"%PDF-")
        && matches!(bytes[5], b'1' | b'2')
        && bytes[6] == b'.'
        && bytes[7].is_ascii_digit()
}

/// A guess at what a refused file is, for the message.
fn seen(bytes: &[u8]) -> Seen {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCE])
        || starts(b"#!")
    {
        return Seen::Program;
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Seen::OldOffice;
    }
    if starts(b"PK") {
        return Seen::Archive;
    }
    if starts(b"Rar!") || starts(b"7z\xBC\xAF\x27\x1C") || starts(&[0x1F, 0x8B]) {
        return Seen::OtherArchive;
    }
    if starts(b"GIF87a") || starts(b"GIF89a") || starts(b"BM") || starts(b"II*\0") || starts(b"MM\0*") {
        return Seen::OtherImage;
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"avif") {
        return Seen::OtherImage;
    }
    let head = &bytes[..bytes.len().min(4096)];
    // text, allowing a multi-byte character cut at the end of the sample
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(t) => {
            let lower = t.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
            if lower.starts_with('<') || lower.contains("<html") || lower.contains("<script") {
                Seen::Markup
            } else {
                Seen::Text
            }
        }
        None => Seen::Unknown,
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// One entry of a zip's central directory.
struct ZipEntry<'a> {
    name: &'a [u8],
    flags: u16,
    method: u16,
    compressed: u64,
    uncompressed: u64,
}

/// The central directory of a zip held in memory; `None` when it is not a
/// well-formed single-disk zip without ZIP64 records.
fn central_directory(bytes: &[u8], max_entries: usize) -> Result<Vec<ZipEntry<'_>>, Option<Refusal>> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const CDH: &[u8] = b"PK\x01\x02";
    if bytes.len() < 22 {
        return Err(None);
    }
    // the end record is the last 22 bytes, before a comment of at most 65 535 bytes
    let last = bytes.len() - 22;
    let first = last.saturating_sub(65_535);
    let eocd = (first..=last)
        .rev()
        .find(|&i| {
            &bytes[i..i + 4] == EOCD && u16_at(bytes, i + 20).is_some_and(|c| i + 22 + c as usize <= bytes.len())
        })
        .ok_or(None)?;
    let disk = u16_at(bytes, eocd + 4).ok_or(None)?;
    let cd_disk = u16_at(bytes, eocd + 6).ok_or(None)?;
    let on_disk = u16_at(bytes, eocd + 8).ok_or(None)?;
    let total = u16_at(bytes, eocd + 10).ok_or(None)?;
    let cd_size = u32_at(bytes, eocd + 12).ok_or(None)?;
    let cd_offset = u32_at(bytes, eocd + 16).ok_or(None)?;
    if disk != 0 || cd_disk != 0 || on_disk != total || total == 0xFFFF || cd_size == u32::MAX || cd_offset == u32::MAX
    {
        return Err(None);
    }
    if total as usize > max_entries {
        return Err(Some(Refusal::TooManyParts { limit: max_entries }));
    }
    let (cd_offset, cd_size) = (cd_offset as usize, cd_size as usize);
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > eocd) {
        return Err(None);
    }
    let mut entries = Vec::with_capacity(total as usize);
    let mut at = cd_offset;
    for _ in 0..total {
        if bytes.get(at..at + 4) != Some(CDH) || at + 46 > cd_offset + cd_size {
            return Err(None);
        }
        let flags = u16_at(bytes, at + 8).ok_or(None)?;
        let method = u16_at(bytes, at + 10).ok_or(None)?;
        let compressed = u32_at(bytes, at + 20).ok_or(None)?;
        let uncompressed = u32_at(bytes, at + 24).ok_or(None)?;
        let name_len = u16_at(bytes, at + 28).ok_or(None)? as usize;
        let extra_len = u16_at(bytes, at + 30).ok_or(None)? as usize;
        let comment_len = u16_at(bytes, at + 32).ok_or(None)? as usize;
        let local = u32_at(bytes, at + 42).ok_or(None)? as usize;
        if compressed == u32::MAX || uncompressed == u32::MAX || local == u32::MAX as usize {
            return Err(None);
        }
        if local >= cd_offset || bytes.get(local..local + 4) != Some(b"PK\x03\x04") {
            return Err(None);
        }
        let name_start = at + 46;
        let next = name_start + name_len + extra_len + comment_len;
        if next > cd_offset + cd_size {
            return Err(None);
        }
        entries.push(ZipEntry {
            name: &bytes[name_start..name_start + name_len],
            flags,
            method,
            compressed: compressed as u64,
            uncompressed: uncompressed as u64,
        });
        at = next;
    }
    Ok(entries)
}

/// A zip: a `.docx` or `.xlsx` when its parts say so, after the safety checks.
fn sniff_zip(bytes: &[u8], limits: &Limits) -> Result<FileType, Refusal> {
    let entries =
        central_directory(bytes, limits.max_entries).map_err(|e| e.unwrap_or(Refusal::NotAccepted(Seen::Archive)))?;
    let mut names: HashSet<&[u8]> = HashSet::with_capacity(entries.len());
    let mut total: u64 = 0;
    let (mut content_types, mut word, mut excel, mut powerpoint, mut macros, mut odf) =
        (false, false, false, false, false, false);
    for e in &entries {
        if !names.insert(e.name) {
            return Err(Refusal::NotAccepted(Seen::Archive));
        }
        // bit 0: encrypted; bit 6: strong encryption
        if e.flags & 0x0041 != 0 || !matches!(e.method, 0 | 8) {
            return Err(Refusal::Encrypted);
        }
        if e.uncompressed > limits.bomb_min_size && e.uncompressed / e.compressed.max(1) > limits.bomb_max_ratio {
            return Err(Refusal::ZipBomb);
        }
        total = total.saturating_add(e.uncompressed);
        if total > limits.max_uncompressed {
            return Err(Refusal::ContentTooLarge { limit: limits.max_uncompressed });
        }
        let n = e.name;
        content_types |= n.eq_ignore_ascii_case(b"[Content_Types].xml");
        word |= n.eq_ignore_ascii_case(b"word/document.xml");
        excel |= n.eq_ignore_ascii_case(b"xl/workbook.xml");
        powerpoint |= n.eq_ignore_ascii_case(b"ppt/presentation.xml");
        macros |= n.len() >= 14 && n[n.len() - 14..].eq_ignore_ascii_case(b"vbaProject.bin");
        odf |= n == b"mimetype";
    }
    match (content_types, word, excel) {
        (true, true, false) | (true, false, true) if macros => Err(Refusal::Macros),
        (true, true, false) => Ok(FileType::Docx),
        (true, false, true) => Ok(FileType::Xlsx),
        (true, false, false) if powerpoint => Err(Refusal::NotAccepted(Seen::Presentation)),
        _ if odf => Err(Refusal::NotAccepted(Seen::OpenDocument)),
        _ => Err(Refusal::NotAccepted(Seen::Archive)),
    }
}

/// The hex SHA-256 of stored content must look like this: 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A file name as sent by a browser, made safe to store and show: the last
/// path component, Unicode NFC (macOS sends decomposed names), no control
/// characters or characters Windows forbids, one space between words, no
/// leading or trailing dots, at most [`MAX_FILE_NAME_CHARS`] characters
/// (keeping the extension). Empty when nothing usable is left.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = base
        .nfc()
        .map(|c| if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { ' ' } else { c })
        .collect();
    let spaced = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = spaced.trim_matches(|c: char| c == '.' || c == ' ').to_string();
    if trimmed.chars().count() <= MAX_FILE_NAME_CHARS {
        return trimmed;
    }
    let (stem, ext) = split_extension(&trimmed);
    let ext_part = ext.map(|e| format!(".{e}")).unwrap_or_default();
    let room = MAX_FILE_NAME_CHARS.saturating_sub(ext_part.chars().count());
    let stem: String = stem.chars().take(room).collect();
    format!("{}{ext_part}", stem.trim_end())
}

/// `("bien ban", Some("pdf"))` for "bien ban.pdf": an extension is 1 to 5 ASCII letters or digits.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty() && (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem, Some(ext))
        }
        _ => (name, None),
    }
}

/// The name a version is downloaded under: the stored name with the
/// extension of the detected type ("quy-che.pdf" stays; "bien ban.doc" of a
/// detected `.docx` becomes "bien ban.docx"; no name becomes "tai-lieu.pdf").
pub fn download_name(stored: &str, t: FileType) -> String {
    let clean = clean_file_name(stored);
    let (stem, ext) = split_extension(&clean);
    match ext {
        Some(e) if t.has_extension(e) => clean,
        _ if stem.is_empty() => format!("tai-lieu.{}", t.extension()),
        _ => format!("{stem}.{}", t.extension()),
    }
}

/// An ASCII stand-in for a file name (for old clients): no diacritics, `đ`
/// as `d`, lower case, anything but letters, digits, `.`, `-` and `_` as `-`.
pub fn ascii_file_name(name: &str) -> String {
    let (stem, ext) = split_extension(name);
    let clean = |s: &str| -> String {
        let folded = crate::text::fold(s);
        let mut out = String::with_capacity(folded.len());
        for c in folded.chars() {
            let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') { c } else { '-' };
            if c == '-' && out.ends_with('-') {
                continue;
            }
            out.push(c);
        }
        out.trim_matches(|c| c == '-' || c == '.').to_string()
    };
    let stem = clean(stem);
    let stem = if stem.is_empty() { "tai-lieu".to_string() } else { stem };
    match ext {
        Some(e) => format!("{stem}.{}", e.to_ascii_lowercase()),
        None => stem,
    }
}

/// A version's note: trimmed, at most [`MAX_NOTE_CHARS`] characters, no
/// control characters but line breaks and tabs. May be empty.
pub fn parse_note(s: &str) -> Result<String, Invalid> {
    let t = s.trim().replace("\r\n", "\n");
    if t.chars().count() > MAX_NOTE_CHARS {
        return Err(Invalid::new("Ghi chú", format!("Ghi chú quá dài (tối đa {MAX_NOTE_CHARS} ký tự).")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new("Ghi chú", "Ghi chú chứa ký tự không hợp lệ."));
    }
    Ok(t)
}

/// A document kind chosen in a form or sent by the API.
pub fn parse_kind(s: &str) -> Result<DocumentKind, Invalid> {
    DocumentKind::parse(s).ok_or_else(|| {
        let kinds: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.label()).collect();
        Invalid::new("Loại tài liệu", format!("Hãy chọn loại tài liệu: {}.", kinds.join("; ")))
    })
}

/// A size as officers read it: "850 byte", "12,5 KB", "3,2 MB" (1 KB = 1 024 byte).
pub fn format_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    // tenths, rounded half up, shown with a comma through format_hundredths
    let tenths = |unit: u64| -> i64 { ((bytes as u128 * 10 + unit as u128 / 2) / unit as u128) as i64 };
    if bytes < KB {
        format!("{bytes} byte")
    } else if bytes < MB {
        format!("{} KB", crate::text::format_hundredths(tenths(KB) * 10))
    } else {
        format!("{} MB", crate::text::format_hundredths(tenths(MB) * 10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

    /// A zip of stored entries, as a test fixture: (name, content, declared
    /// uncompressed size override, flags).
    fn zip_with(entries: &[(&str, &[u8], Option<u32>, u16)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data, declared, flags) in entries {
            let offset = out.len() as u32;
            let size = data.len() as u32;
            let usize_ = declared.unwrap_or(size);
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // stored
            out.extend_from_slice(&[0; 4]); // time, date
            out.extend_from_slice(&0u32.to_le_bytes()); // crc (not checked here)
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&usize_.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            cd.extend_from_slice(b"PK\x01\x02");
            cd.extend_from_slice(&20u16.to_le_bytes());
            cd.extend_from_slice(&20u16.to_le_bytes());
            cd.extend_from_slice(&flags.to_le_bytes());
            cd.extend_from_slice(&0u16.to_le_bytes());
            cd.extend_from_slice(&[0; 4]);
            cd.extend_from_slice(&0u32.to_le_bytes());
            cd.extend_from_slice(&size.to_le_bytes());
            cd.extend_from_slice(&usize_.to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 4]); // extra, comment
            cd.extend_from_slice(&[0; 4]); // disk, internal
            cd.extend_from_slice(&[0; 4]); // external
            cd.extend_from_slice(&offset.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&cd);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn zip(names: &[&str]) -> Vec<u8> {
        let e: Vec<(&str, &[u8], Option<u32>, u16)> = names.iter().map(|n| (*n, &b"<x/>"[..], None, 0)).collect();
        zip_with(&e)
    }

    fn sniff_default(b: &[u8]) -> Result<FileType, Refusal> {
        sniff(b, &Limits::DEFAULT)
    }

    #[test]
    fn accepted_types_by_content() {
        assert_eq!(sniff_default(PDF), Ok(FileType::Pdf));
        assert_eq!(
            sniff_default(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0"),
            Ok(FileType::Png)
        );
        assert_eq!(sniff_default(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F']), Ok(FileType::Jpeg));
        assert_eq!(sniff_default(b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0"), Ok(FileType::Webp));
        let docx = zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml"]);
        assert_eq!(sniff_default(&docx), Ok(FileType::Docx));
        let xlsx = zip(&["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]);
        assert_eq!(sniff_default(&xlsx), Ok(FileType::Xlsx));
    }

    #[test]
    fn names_and_claims_do_not_matter() {
        // an HTML page or a program whatever its name says
        assert_eq!(
            sniff_default(b"<!DOCTYPE html><html><script>alert(1)</script>"),
            Err(Refusal::NotAccepted(Seen::Markup))
        );
        assert_eq!(
            sniff_default(b"  <svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Err(Refusal::NotAccepted(Seen::Markup))
        );
        assert_eq!(sniff_default(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"), Err(Refusal::NotAccepted(Seen::Program)));
        assert_eq!(sniff_default(b"#!/bin/sh\nrm -rf /\n"), Err(Refusal::NotAccepted(Seen::Program)));
        assert_eq!(sniff_default("Tên,Điểm\nSở Y tế,95\n".as_bytes()), Err(Refusal::NotAccepted(Seen::Text)));
        assert_eq!(
            sniff_default(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]),
            Err(Refusal::NotAccepted(Seen::OldOffice))
        );
        assert_eq!(sniff_default(b"GIF89a\x01\0\x01\0"), Err(Refusal::NotAccepted(Seen::OtherImage)));
        // "%PDF" somewhere later is not a PDF
        assert!(sniff_default(b"<html>%PDF-1.4</html>").is_err());
        assert_eq!(sniff_default(b"%PDF-x"), Err(Refusal::NotAccepted(Seen::Text)));
    }

    #[test]
    fn zips_that_are_not_word_or_excel() {
        assert_eq!(sniff_default(&zip(&["a.txt", "b/c.txt"])), Err(Refusal::NotAccepted(Seen::Archive)));
        // parts without the content types are not Office
        assert_eq!(sniff_default(&zip(&["word/document.xml"])), Err(Refusal::NotAccepted(Seen::Archive)));
        // both a document and a workbook: not a file Word or Excel writes
        let both = zip(&["[Content_Types].xml", "word/document.xml", "xl/workbook.xml"]);
        assert_eq!(sniff_default(&both), Err(Refusal::NotAccepted(Seen::Archive)));
        let pptx = zip(&["[Content_Types].xml", "ppt/presentation.xml"]);
        assert_eq!(sniff_default(&pptx), Err(Refusal::NotAccepted(Seen::Presentation)));
        let odt = zip(&["mimetype", "content.xml", "META-INF/manifest.xml"]);
        assert_eq!(sniff_default(&odt), Err(Refusal::NotAccepted(Seen::OpenDocument)));
        let docm = zip(&["[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"]);
        assert_eq!(sniff_default(&docm), Err(Refusal::Macros));
        let dup = zip(&["[Content_Types].xml", "word/document.xml", "word/document.xml"]);
        assert_eq!(sniff_default(&dup), Err(Refusal::NotAccepted(Seen::Archive)));
        // a truncated zip: only the local header survives
        let mut cut = zip(&["[Content_Types].xml", "word/document.xml"]);
        cut.truncate(40);
        assert_eq!(sniff_default(&cut), Err(Refusal::NotAccepted(Seen::Archive)));
    }

    #[test]
    fn zip_safety_limits() {
        let encrypted = zip_with(&[("[Content_Types].xml", b"x", None, 1), ("word/document.xml", b"x", None, 0)]);
        assert_eq!(sniff_default(&encrypted), Err(Refusal::Encrypted));
        // 4 bytes declared as 50 MiB: a bomb
        let bomb = zip_with(&[
            ("[Content_Types].xml", b"x", None, 0),
            ("word/document.xml", b"<w/>", Some(50 * 1024 * 1024), 0),
        ]);
        assert_eq!(sniff_default(&bomb), Err(Refusal::ZipBomb));
        let small = Limits { max_uncompressed: 10, ..Limits::DEFAULT };
        let big = zip_with(&[("[Content_Types].xml", b"0123456789", None, 0), ("word/document.xml", b"<w/>", None, 0)]);
        assert_eq!(sniff(&big, &small), Err(Refusal::ContentTooLarge { limit: 10 }));
        let few = Limits { max_entries: 2, ..Limits::DEFAULT };
        let many = zip(&["[Content_Types].xml", "word/document.xml", "word/styles.xml"]);
        assert_eq!(sniff(&many, &few), Err(Refusal::TooManyParts { limit: 2 }));
    }

    #[test]
    fn empty_and_too_large() {
        assert_eq!(sniff_default(b""), Err(Refusal::Empty));
        let tiny = Limits { max_bytes: 10, ..Limits::DEFAULT };
        assert_eq!(sniff(PDF, &tiny), Err(Refusal::TooLarge { limit: 10 }));
        assert!(Refusal::TooLarge { limit: Limits::DEFAULT.max_bytes }.message_vi().contains("tối đa 10 MB"));
        for r in [
            Refusal::NotAccepted(Seen::Markup),
            Refusal::NotAccepted(Seen::Unknown),
            Refusal::NotAccepted(Seen::Archive),
        ] {
            assert!(r.message_vi().contains(ACCEPTED_TEXT), "{r}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(clean_file_name("C:\\Users\\a\\Quy chế  hoạt động.pdf"), "Quy chế hoạt động.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\r\n\"c\".pdf"), "a b c .pdf");
        assert_eq!(clean_file_name("..."), "");
        // decomposed (macOS) becomes composed
        assert_eq!(clean_file_name("Quy che\u{302}\u{301}.pdf"), "Quy chế.pdf");
        let long = format!("{}.docx", "â".repeat(400));
        let c = clean_file_name(&long);
        assert_eq!(c.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(c.ends_with(".docx"));
        assert_eq!(download_name("Quy chế.PDF", FileType::Pdf), "Quy chế.PDF");
        assert_eq!(download_name("Biên bản.doc", FileType::Docx), "Biên bản.docx");
        assert_eq!(download_name("ảnh.jpeg", FileType::Jpeg), "ảnh.jpeg");
        assert_eq!(download_name("", FileType::Xlsx), "tai-lieu.xlsx");
        assert_eq!(download_name("Kế hoạch 2026", FileType::Pdf), "Kế hoạch 2026.pdf");
        assert_eq!(ascii_file_name("Quy chế hoạt động Đà Nẵng.PDF"), "quy-che-hoat-dong-da-nang.pdf");
        assert_eq!(ascii_file_name("Биография.pdf"), "tai-lieu.pdf");
    }

    #[test]
    fn kinds_notes_sizes() {
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.code()), Some(*k));
            assert_eq!(DocumentKind::parse(k.label()), Some(*k));
        }
        assert_eq!(parse_kind("quy che hoat dong"), Ok(DocumentKind::Regulation));
        assert!(parse_kind("bogus").is_err());
        assert_eq!(parse_note("  sửa điều 5\r\n "), Ok("sửa điều 5".into()));
        assert!(parse_note(&"a".repeat(MAX_NOTE_CHARS + 1)).is_err());
        assert!(parse_note("a\u{7}b").is_err());
        assert_eq!(format_size(850), "850 byte");
        assert_eq!(format_size(12_800), "12,5 KB");
        assert_eq!(format_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(format_size(3_355_443), "3,2 MB");
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert!(!is_sha256_hex("../x"));
    }

    #[test]
    fn who_uploads_and_who_reads() {
        use crate::policy::{Action, Actor, Grant, GroupCtx, Role, Target, decide};
        let (tw, cb, hn) = (1, 2, 3);
        let g = GroupCtx {
            head_unit: Some(10),
            deputy_unit: Some(11),
            member_units: vec![10, 11, 12],
            inspections: vec![],
        };
        let t = Target::group(vec![cb, tw], g);
        let unit = |u| Actor {
            user_id: 1,
            grants: vec![Grant { role: Role::UnitOfficer, authority_id: Some(cb), unit_id: Some(u) }],
        };
        let auth = |role, a| Actor { user_id: 1, grants: vec![Grant { role, authority_id: Some(a), unit_id: None }] };
        let may = |a: &Actor, action| decide(a, action, &t).is_ok();
        for uploader in [unit(10), unit(11), auth(Role::Secretariat, cb), auth(Role::Secretariat, tw)] {
            assert!(may(&uploader, Action::ManageDocuments) && may(&uploader, Action::ViewGroup));
        }
        for reader in [unit(12), auth(Role::Viewer, cb), auth(Role::Council, cb)] {
            assert!(!may(&reader, Action::ManageDocuments) && may(&reader, Action::ViewGroup));
        }
        let other = auth(Role::Secretariat, hn);
        assert!(!may(&other, Action::ManageDocuments) && !may(&other, Action::ViewGroup));
        assert!(Action::ALL.contains(&Action::ManageDocuments));
    }

    proptest! {
        /// Sniffing never panics, and accepts nothing that does not start
        /// with an accepted signature.
        #[test]
        fn sniff_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(t) = sniff_default(&bytes) {
                let ok = match t {
                    FileType::Pdf => bytes.starts_with(b"%PDF-"),
                    FileType::Png => bytes.starts_with(b"\x89PNG"),
                    FileType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
                    FileType::Webp => bytes.starts_with(b"RIFF"),
                    FileType::Docx | FileType::Xlsx => bytes.starts_with(b"PK\x03\x04"),
                };
                prop_assert!(ok);
            }
        }

        /// A damaged central directory never panics (every truncation and every one-byte change).
        #[test]
        fn damaged_zips_never_panic(cut in 0usize..400, at in 0usize..400, byte in any::<u8>()) {
            let mut z = zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
            if at < z.len() {
                z[at] = byte;
            }
            z.truncate(cut.min(z.len()));
            let _ = sniff_default(&z);
        }

        /// Cleaned names are never empty of meaning in a dangerous way: no separators, no control characters.
        #[test]
        fn clean_names_are_safe(raw in "\\PC{0,300}") {
            let c = clean_file_name(&raw);
            prop_assert!(!c.contains('/') && !c.contains('\\') && !c.chars().any(char::is_control));
            prop_assert!(c.chars().count() <= MAX_FILE_NAME_CHARS);
            prop_assert!(!c.starts_with('.'));
            let a = ascii_file_name(&download_name(&c, FileType::Pdf));
            prop_assert!(a.is_ascii() && !a.contains('"') && !a.is_empty());
        }
    }
}
