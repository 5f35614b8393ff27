//! Client ids that name the node holding the stream (`{node}_{40 random characters}`), so a
//! subscription request or an OAuth2 redirect that a load balancer sends to another node is
//! relayed to the right one. PocketBase's SDK treats the id as opaque text.

use edgebase_consensus::NodeId;

/// Random characters after the node's id (PocketBase's client ids have 40).
const RANDOM_CHARS: usize = 40;

/// A new client id for a stream held by `node`.
pub fn new_client_id(node: NodeId) -> String {
    format!("{node}_{}", edgebase_model::ids::new_secret(RANDOM_CHARS))
}

/// The node a client id names; `None` for an id this cluster never made.
pub fn owner_of(client_id: &str) -> Option<NodeId> {
    let (node, random) = client_id.split_once('_')?;
    if random.len() != RANDOM_CHARS || !random.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return None;
    }
    if node.is_empty() || node.starts_with('0') && node.len() > 1 || node.starts_with('+') {
        return None;
    }
    node.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_names_its_node() {
        for node in [0, 1, 7, 42, u64::MAX] {
            let id = new_client_id(node);
            assert_eq!(owner_of(&id), Some(node), "{id}");
        }
    }

    #[test]
    fn foreign_ids_name_no_node() {
        let random = "a".repeat(RANDOM_CHARS);
        for id in [
            String::new(),
            "abc".to_string(),
            random.clone(),
            format!("_{random}"),
            format!("x_{random}"),
            format!("+1_{random}"),
            format!("01_{random}"),
            format!("1_{}", "a".repeat(RANDOM_CHARS - 1)),
            format!("1_{}-", "a".repeat(RANDOM_CHARS - 1)),
            format!("18446744073709551616_{random}"),
        ] {
            assert_eq!(owner_of(&id), None, "{id}");
        }
    }
}
