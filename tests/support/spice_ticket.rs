//! Encrypting a SPICE ticket: RSA-OAEP (SHA-1, MGF1-SHA-1, empty label) with the
//! 1024-bit public key the server sends in its link reply.
//!
//! spice-server decrypts the ticket even when ticketing is disabled and refuses
//! the link if that fails, so a real client must encrypt properly. This is
//! test-only code: no constant-time concerns, and the OAEP seed need not be secret.

/// The ticket (password plus NUL) encrypted for the DER `SubjectPublicKeyInfo` key.
pub fn encrypt_ticket(public_key_der: &[u8], password: &str) -> Result<Vec<u8>, String> {
    let (modulus, exponent) = parse_rsa_public_key(public_key_der)?;
    let k = modulus.len();
    let mut message = password.as_bytes().to_vec();
    message.push(0);
    let encoded = oaep_encode(&message, k)?;
    Ok(mod_pow(&encoded, &exponent, &modulus))
}

/// SHA-1 of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (state, add) in h.iter_mut().zip([a, b, c, d, e]) {
            *state = state.wrapping_add(add);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// MGF1 with SHA-1: `len` bytes of mask generated from `seed`.
fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 20);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut input = seed.to_vec();
        input.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(&sha1(&input));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// EME-OAEP encoding (RFC 8017 §7.1.1) into `k` bytes.
fn oaep_encode(message: &[u8], k: usize) -> Result<Vec<u8>, String> {
    const H: usize = 20;
    if message.len() + 2 * H + 2 > k {
        return Err(format!(
            "ticket of {} bytes too long for a {k}-byte key",
            message.len()
        ));
    }
    let mut db = sha1(b"").to_vec();
    db.resize(k - message.len() - H - 2, 0);
    db.push(1);
    db.extend_from_slice(message);
    // Any seed is valid; derive one from the clock so encryptions differ.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = sha1(&nanos.to_le_bytes());
    for (byte, mask) in db.iter_mut().zip(mgf1(&seed, k - H - 1)) {
        *byte ^= mask;
    }
    let mut masked_seed = seed;
    for (byte, mask) in masked_seed.iter_mut().zip(mgf1(&db, H)) {
        *byte ^= mask;
    }
    let mut encoded = vec![0u8];
    encoded.extend_from_slice(&masked_seed);
    encoded.extend_from_slice(&db);
    Ok(encoded)
}

/// A DER element: (tag, contents, rest of input).
fn der_element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("DER: unexpected end of key")?;
    let (&first, mut rest) = rest.split_first().ok_or("DER: missing length")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(format!("DER: bad length form {first:#x}"));
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return Err(format!("DER: element of {len} bytes overruns the key"));
    }
    let (contents, after) = rest.split_at(len);
    Ok((tag, contents, after))
}

fn expect_tag(input: &[u8], want: u8) -> Result<(&[u8], &[u8]), String> {
    let (tag, contents, rest) = der_element(input)?;
    if tag != want {
        return Err(format!("DER: expected tag {want:#04x}, found {tag:#04x}"));
    }
    Ok((contents, rest))
}

/// (modulus, exponent) as big-endian bytes without leading zeros, from a
/// SubjectPublicKeyInfo { AlgorithmIdentifier, BIT STRING { RSAPublicKey } }.
fn parse_rsa_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (info, _) = expect_tag(der, 0x30)?;
    let (_algorithm, rest) = expect_tag(info, 0x30)?;
    let (bits, _) = expect_tag(rest, 0x03)?;
    let key = bits
        .strip_prefix(&[0u8])
        .ok_or("DER: BIT STRING with unused bits")?;
    let (key, _) = expect_tag(key, 0x30)?;
    let (modulus, rest) = expect_tag(key, 0x02)?;
    let (exponent, _) = expect_tag(rest, 0x02)?;
    let strip = |n: &[u8]| {
        n.iter()
            .skip_while(|&&b| b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    let modulus = strip(modulus);
    if modulus.len() < 64 {
        return Err(format!(
            "RSA modulus of {} bytes is implausibly small",
            modulus.len()
        ));
    }
    Ok((modulus, strip(exponent)))
}

/// Big-endian bytes to little-endian u32 limbs, `limbs` long.
fn to_limbs(bytes: &[u8], limbs: usize) -> Vec<u32> {
    let mut out = vec![0u32; limbs];
    for (i, &b) in bytes.iter().rev().enumerate() {
        out[i / 4] |= u32::from(b) << (8 * (i % 4));
    }
    out
}

fn ge(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x > y;
        }
    }
    true
}

fn sub_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0i64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = i64::from(*x) - i64::from(y) - borrow;
        borrow = i64::from(d < 0);
        *x = (d + (borrow << 32)) as u32;
    }
}

/// `a = (a + b) mod n`, for a, b < n; one spare top limb absorbs the carry.
fn add_mod(a: &mut [u32], b: &[u32], n: &[u32]) {
    let mut carry = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let s = u64::from(*x) + u64::from(y) + carry;
        *x = s as u32;
        carry = s >> 32;
    }
    if ge(a, n) {
        sub_in_place(a, n);
    }
}

/// `a * b mod n` by double-and-add over the bits of `b` (no division needed).
fn mul_mod(a: &[u32], b: &[u32], n: &[u32]) -> Vec<u32> {
    let mut acc = vec![0u32; n.len()];
    for limb in b.iter().rev() {
        for bit in (0..32).rev() {
            let copy = acc.clone();
            add_mod(&mut acc, &copy, n);
            if (limb >> bit) & 1 == 1 {
                add_mod(&mut acc, a, n);
            }
        }
    }
    acc
}

/// `base^exponent mod modulus`, all big-endian; the result has the modulus' length.
fn mod_pow(base: &[u8], exponent: &[u8], modulus: &[u8]) -> Vec<u8> {
    let limbs = modulus.len().div_ceil(4) + 1;
    let n = to_limbs(modulus, limbs);
    let mut b = to_limbs(base, limbs);
    while ge(&b, &n) {
        sub_in_place(&mut b, &n);
    }
    let mut result = to_limbs(&[1], limbs);
    for byte in exponent {
        for bit in (0..8).rev() {
            result = mul_mod(&result, &result, &n);
            if (byte >> bit) & 1 == 1 {
                result = mul_mod(&result, &b, &n);
            }
        }
    }
    let mut out = vec![0u8; modulus.len()];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = (result[i / 4] >> (8 * (i % 4))) as u8;
    }
    out
}

/// Exposed for the harness self-test: modular exponentiation on small numbers.
pub fn mod_pow_for_test(base: u64, exponent: u64, modulus: u64) -> u64 {
    let out = mod_pow(
        &base.to_be_bytes(),
        &exponent.to_be_bytes(),
        &modulus.to_be_bytes(),
    );
    out.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}
