//! Every command the utility knows, by name: the one table the shell,
//! `singlecmd` and `help` read.

use super::{
    args::{Parsed, Spec},
    attributes,
    context::Ctx,
    crypto, info, keys, partition, quorum, users, wrap, UtilError,
};

pub struct Command {
    pub spec: Spec,
    pub run: fn(&mut Ctx, &Parsed) -> Result<(), UtilError>,
}

pub const COMMANDS: &[&Command] = &[
    &users::LOGIN,
    &users::LOGOUT,
    &users::LIST_USERS,
    &users::CREATE_USER,
    &users::DELETE_USER,
    &users::CHANGE_PASSWORD,
    &users::UNLOCK_USER,
    &users::SYNC_USER,
    &users::SET_USER_ATTRIBUTES,
    &users::DISABLE_USER_ACCESS,
    &partition::GET_CERT_REQ,
    &partition::STORE_CERT,
    &partition::GET_CHALLENGE,
    &partition::UNLOCK_CO,
    &quorum::GET_POLICY,
    &quorum::SET_POLICY,
    &quorum::REGISTER_QUORUM_PUB_KEY,
    &quorum::SET_M_VALUE,
    &quorum::GET_TOKEN,
    &quorum::APPROVE_TOKEN,
    &quorum::LIST_TOKENS,
    &quorum::DEL_TOKEN,
    &info::GET_HSM_INFO,
    &info::FIND_SINGLE_KEY,
    &info::SAVE_CONFIG,
    &keys::GEN_SYM_KEY,
    &keys::GEN_RSA_KEY_PAIR,
    &keys::GEN_ECC_KEY_PAIR,
    &keys::FIND_KEY,
    &keys::DELETE_KEY,
    &keys::SHARE_KEY,
    &keys::FIND_ALL_KEYS,
    &keys::GET_KEY_INFO,
    &attributes::GET_ATTRIBUTE,
    &attributes::SET_ATTRIBUTE,
    &attributes::LIST_ATTRIBUTES,
    &crypto::SIGN,
    &crypto::VERIFY,
    &crypto::ENCRYPT,
    &crypto::DECRYPT,
    &crypto::DIGEST,
    &crypto::GET_RANDOM,
    &wrap::WRAP_KEY,
    &wrap::UNWRAP_KEY,
    &wrap::EXPORT_PUB_KEY,
    &wrap::IMPORT_PUB_KEY,
    &partition::EXTRACT_MASKED_OBJECT,
    &partition::INSERT_MASKED_OBJECT,
];

/// Other spellings the utilities accept (key_mgmt_util spells `unWrapKey`).
const ALIASES: &[(&str, &str)] = &[("unwrapKey", "unWrapKey")];

/// The command `name` names, exactly as spelt (the utilities' names are
/// case-sensitive), or through an alias.
pub fn find(name: &str) -> Option<&'static Command> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, real)| *real)
        .unwrap_or(name);
    COMMANDS.iter().copied().find(|c| c.spec.name == name)
}

/// A case-insensitive match, to suggest the right spelling.
pub fn suggest(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|c| c.spec.name.eq_ignore_ascii_case(name))
        .map(|c| c.spec.name)
}
