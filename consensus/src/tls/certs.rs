//! Creating the cluster CA and node certificates (rcgen), and reading a node id back out of a
//! certificate (x509-parser).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use x509_parser::extensions::GeneralName;

use crate::tls::TlsError;
use crate::type_config::NodeId;

pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";
pub const NODE_CERT_FILE: &str = "node.crt";
pub const NODE_KEY_FILE: &str = "node.key";

/// A DNS SAN every node certificate carries, so a dialer that knows an address but not the
/// node id behind it (a join seed) can still verify "some member of this cluster" answered.
pub const ANY_MEMBER_SERVER_NAME: &str = "member.edgebase";

const NODE_NAME_PREFIX: &str = "node-";
const NODE_NAME_SUFFIX: &str = ".edgebase";

/// The DNS name that identifies node `node_id` in its certificate.
pub fn node_server_name(node_id: NodeId) -> String {
    format!("{NODE_NAME_PREFIX}{node_id}{NODE_NAME_SUFFIX}")
}

fn parse_node_server_name(name: &str) -> Option<NodeId> {
    let digits = name
        .strip_prefix(NODE_NAME_PREFIX)?
        .strip_suffix(NODE_NAME_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Create a new cluster CA in `out_dir`: `ca.crt` and `ca.key` (PEM, key mode 0600).
/// Refuses to overwrite an existing `ca.key`: replacing a CA would lock every node out.
pub fn generate_ca(out_dir: &Path) -> Result<(), TlsError> {
    let key_path = out_dir.join(CA_KEY_FILE);
    if key_path.exists() {
        return Err(TlsError::CaExists { path: key_path });
    }
    create_dir(out_dir)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    // A name unique to this CA, so a certificate from another cluster's CA is reported as
    // "unknown issuer" rather than matched by name and failing on its signature.
    let key_tag: String = key
        .public_key_raw()
        .iter()
        .skip(1)
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("EdgeBase cluster CA {key_tag}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    write_file(&out_dir.join(CA_CERT_FILE), cert.pem().as_bytes(), 0o644)?;
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    Ok(())
}

/// Issue a certificate for node `node_id`, signed by the CA in `ca_dir`, into `out_dir`:
/// `node.crt`, `node.key` (mode 0600) and a copy of `ca.crt`. The certificate names the node
/// as `node-{id}.edgebase` and carries `hosts` (DNS names or IP addresses) as extra SANs.
pub fn generate_node_cert(
    ca_dir: &Path,
    node_id: NodeId,
    hosts: &[String],
    out_dir: &Path,
) -> Result<(), TlsError> {
    let ca_cert_path = ca_dir.join(CA_CERT_FILE);
    let ca_key_path = ca_dir.join(CA_KEY_FILE);
    let ca_cert_pem = read_string(&ca_cert_path)?;
    let ca_key_pem = read_string(&ca_key_path)?;
    let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|e| TlsError::BadPem {
        path: ca_key_path.clone(),
        reason: e.to_string(),
    })?;
    // rcgen signs with an issuer `Certificate`; rebuilding it from the stored CA's parameters
    // and key yields the same subject and key identifier, which is all a signature needs.
    let ca_params =
        CertificateParams::from_ca_cert_pem(&ca_cert_pem).map_err(|e| TlsError::BadPem {
            path: ca_cert_path.clone(),
            reason: e.to_string(),
        })?;
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let mut names = vec![
        node_server_name(node_id),
        ANY_MEMBER_SERVER_NAME.to_string(),
    ];
    for host in hosts {
        if !host.is_empty() && !names.contains(host) {
            names.push(host.clone());
        }
    }
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, node_server_name(node_id));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca_cert, &ca_key)?;

    create_dir(out_dir)?;
    write_file(&out_dir.join(NODE_CERT_FILE), cert.pem().as_bytes(), 0o644)?;
    write_file(
        &out_dir.join(NODE_KEY_FILE),
        key.serialize_pem().as_bytes(),
        0o600,
    )?;
    let ca_copy = out_dir.join(CA_CERT_FILE);
    if ca_copy != ca_cert_path {
        write_file(&ca_copy, ca_cert_pem.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// The node id a certificate names in its `node-{id}.edgebase` DNS SAN. `None` when the
/// bytes are not a certificate, it names no node, or it names more than one.
pub fn node_id_from_cert(der: &[u8]) -> Option<NodeId> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    let mut found = None;
    for name in &san.value.general_names {
        if let GeneralName::DNSName(dns) = name {
            if let Some(id) = parse_node_server_name(dns) {
                match found {
                    None => found = Some(id),
                    Some(previous) if previous == id => {}
                    Some(_) => return None,
                }
            }
        }
    }
    found
}

fn create_dir(dir: &Path) -> Result<(), TlsError> {
    fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn read_string(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Write via a temporary file and rename, so a crash never leaves half a key behind.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let io_err = |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp_path = std::path::PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp_path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp_path)
        .map_err(io_err)?;
    file.write_all(contents).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    fs::rename(&tmp_path, path).map_err(io_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_round_trip() {
        let cases: &[(&str, Option<NodeId>)] = &[
            ("node-1.edgebase", Some(1)),
            ("node-18446744073709551615.edgebase", Some(u64::MAX)),
            ("node-.edgebase", None),
            ("node-1x.edgebase", None),
            ("node-+1.edgebase", None),
            ("member.edgebase", None),
            ("node-1.example.com", None),
        ];
        for (name, expected) in cases {
            assert_eq!(parse_node_server_name(name), *expected, "{name}");
        }
        assert_eq!(parse_node_server_name(&node_server_name(42)), Some(42));
    }

    #[test]
    fn generated_cert_names_its_node_and_key_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_dir = dir.path().join("ca");
        let node_dir = dir.path().join("n7");
        generate_ca(&ca_dir).expect("generate ca");
        assert!(matches!(
            generate_ca(&ca_dir),
            Err(TlsError::CaExists { .. })
        ));
        generate_node_cert(
            &ca_dir,
            7,
            &["127.0.0.1".to_string(), "db7.example".to_string()],
            &node_dir,
        )
        .expect("generate node cert");
        let pem = fs::read(node_dir.join(NODE_CERT_FILE)).expect("read cert");
        let der = rustls_pemfile::certs(&mut pem.as_slice())
            .next()
            .expect("one cert")
            .expect("valid pem");
        assert_eq!(node_id_from_cert(&der), Some(7));
        assert_eq!(node_id_from_cert(b"not a certificate"), None);
        use std::os::unix::fs::PermissionsExt;
        for key in [ca_dir.join(CA_KEY_FILE), node_dir.join(NODE_KEY_FILE)] {
            let mode = fs::metadata(&key).expect("stat key").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
        assert!(node_dir.join(CA_CERT_FILE).exists());
    }
}
