//! Tiny, valid evidence files for the demo, made in code: a one-page PDF
//! with a few lines of text and a small PNG picture. Both pass the content
//! sniffer of `thidua_core::documents` (the tests below check it), so the
//! pages serve them like any uploaded file. The text is written without
//! diacritics because the PDF's standard font has no Vietnamese letters.

use thidua_core::documents::FileType;

/// One evidence file to store: its name as shown, its type and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    pub file_name: String,
    pub file_type: FileType,
    pub bytes: Vec<u8>,
}

/// Vietnamese text in ASCII, keeping the case: "Sở Tư pháp" → "So Tu phap".
pub fn ascii_vi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let base = thidua_core::text::fold(&c.to_string());
        let base = if base.is_ascii() && !base.is_empty() { base } else { "?".to_string() };
        if c.is_uppercase() {
            out.push_str(&base.to_uppercase());
        } else {
            out.push_str(&base);
        }
    }
    out
}

fn pdf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('(');
    for c in ascii_vi(s).chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            _ => out.push(' '),
        }
    }
    out.push(')');
    out
}

/// A one-page A4 PDF (1.4) with a title and lines of text, with a correct
/// cross-reference table.
pub fn pdf(title: &str, lines: &[String]) -> Vec<u8> {
    let mut content = format!("BT /F1 15 Tf 56 780 Td {} Tj /F1 11 Tf", pdf_string(title));
    for l in lines {
        content.push_str(&format!(" 0 -22 Td {} Tj", pdf_string(l)));
    }
    content.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A small RGB PNG: a red band with a yellow star-like block (a flag) on a
/// background whose colour comes from `seed`, so that each file differs.
/// The image data is zlib-wrapped in stored (uncompressed) deflate blocks.
pub fn png(seed: u64) -> Vec<u8> {
    const W: usize = 96;
    const H: usize = 64;
    let bg = [
        0xE0u8.wrapping_sub((seed % 48) as u8),
        0xE8u8.wrapping_sub((seed / 48 % 48) as u8),
        0xF0u8.wrapping_sub((seed / 2304 % 48) as u8),
    ];
    let mut raw = Vec::with_capacity(H * (1 + 3 * W));
    for y in 0..H {
        raw.push(0); // filter: none
        for x in 0..W {
            let flag = (8..40).contains(&y) && (8..56).contains(&x);
            let star = (18..30).contains(&y) && (26..38).contains(&x);
            let px = if star {
                [0xFF, 0xDD, 0x00]
            } else if flag {
                [0xDA, 0x25, 0x1D]
            } else {
                bg
            };
            raw.extend_from_slice(&px);
        }
    }
    let mut z = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    while let Some(b) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(W as u32).to_be_bytes());
    ihdr.extend_from_slice(&(H as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter method, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use thidua_core::documents::{Limits, sniff};

    #[test]
    fn the_files_pass_the_content_sniffer() {
        let p = pdf("Minh chứng (dữ liệu mẫu)", &["Sở Tư pháp tỉnh Cao Bằng".into(), "Tiêu chí I.1 \\ (a)".into()]);
        assert_eq!(sniff(&p, &Limits::default()), Ok(FileType::Pdf));
        let text = String::from_utf8_lossy(&p);
        assert!(text.contains("(So Tu phap tinh Cao Bang)") && text.contains("(Tieu chi I.1 \\\\ \\(a\\))"), "{text}");
        // the cross-reference table points at the objects
        let xref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(p[xref..].starts_with(b"xref"));
        let entry = p[xref..].split(|b| *b == b'\n').nth(3).unwrap();
        let first: usize = std::str::from_utf8(&entry[..10]).unwrap().parse().unwrap();
        assert!(p[first..].starts_with(b"1 0 obj"));

        let a = png(1);
        assert_eq!(sniff(&a, &Limits::default()), Ok(FileType::Png));
        assert_ne!(a, png(2));
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(ascii_vi("Đường Hồ Chí Minh"), "Duong Ho Chi Minh");
    }
}
