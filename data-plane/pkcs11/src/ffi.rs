//! The C entry points: each checks its pointers, calls the core under
//! `catch_unwind` (no panic crosses the C boundary) and returns its CKR.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::{ffi::c_void, panic::AssertUnwindSafe, sync::Arc};

use cloudhsm_data_plane::{
    client::CryptoInput,
    engine::keys::{Curve, KeySpec},
    server::CryptoOp,
};
use cryptoki_sys::*;

use crate::{
    error::{from_client, CkResult},
    mechanisms::{self, CipherKind, CipherOp, DigestOp, Mechanism, SignOp},
    objects::{self, Template},
    state::{self, lock, Module, Session},
};

/// Runs the core of an entry point: its error is the CKR, a panic is
/// CKR_GENERAL_ERROR.
fn guard(f: impl FnOnce() -> CkResult<()>) -> CK_RV {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => CKR_OK,
        Ok(Err(rv)) => rv,
        Err(_) => CKR_GENERAL_ERROR,
    }
}

unsafe fn bytes<'a>(p: *const u8, len: CK_ULONG) -> CkResult<&'a [u8]> {
    if len == 0 {
        Ok(&[])
    } else if p.is_null() {
        Err(CKR_ARGUMENTS_BAD)
    } else {
        Ok(std::slice::from_raw_parts(p, len as usize))
    }
}

unsafe fn out<'a, T>(p: *mut T) -> CkResult<&'a mut T> {
    p.as_mut().ok_or(CKR_ARGUMENTS_BAD)
}

/// The size-query protocol: a null buffer asks the length; a short one is
/// CKR_BUFFER_TOO_SMALL. `Ok(true)` when the data was delivered.
unsafe fn deliver(buffer: *mut u8, len: *mut CK_ULONG, data: &[u8]) -> CkResult<bool> {
    let len = out(len)?;
    if buffer.is_null() {
        *len = data.len() as CK_ULONG;
        return Ok(false);
    }
    if (*len as usize) < data.len() {
        *len = data.len() as CK_ULONG;
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    std::ptr::copy_nonoverlapping(data.as_ptr(), buffer, data.len());
    *len = data.len() as CK_ULONG;
    Ok(true)
}

unsafe fn template(p: *const CK_ATTRIBUTE, count: CK_ULONG) -> CkResult<Template> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    std::slice::from_raw_parts(p, count as usize)
        .iter()
        .map(|a| {
            Ok((
                a.type_,
                bytes(a.pValue as *const u8, a.ulValueLen)?.to_vec(),
            ))
        })
        .collect()
}

unsafe fn mechanism<'a>(p: *const CK_MECHANISM) -> CkResult<Mechanism<'a>> {
    let m = p.as_ref().ok_or(CKR_ARGUMENTS_BAD)?;
    Ok(Mechanism {
        kind: m.mechanism,
        parameter: bytes(m.pParameter as *const u8, m.ulParameterLen)?,
    })
}

fn pad<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [b' '; N];
    for (o, b) in out.iter_mut().zip(text.bytes()) {
        *o = b;
    }
    out
}

/// The session, its module and its slot.
fn with_session<T>(
    handle: CK_SESSION_HANDLE,
    f: impl FnOnce(&Module, &state::Slot, &mut Session) -> CkResult<T>,
) -> CkResult<T> {
    let module = state::module()?;
    let session = module.session(handle)?;
    let mut session = lock(&session);
    let slot = &module.slots[session.slot];
    f(&module, slot, &mut session)
}

fn logged_in(slot: &state::Slot) -> CkResult<()> {
    if lock(&slot.login).is_some() {
        Ok(())
    } else {
        Err(CKR_USER_NOT_LOGGED_IN)
    }
}

fn writable(session: &Session) -> CkResult<()> {
    if session.read_write {
        Ok(())
    } else {
        Err(CKR_SESSION_READ_ONLY)
    }
}

// ---- general ----

#[no_mangle]
pub unsafe extern "C" fn C_Initialize(args: *mut c_void) -> CK_RV {
    guard(|| {
        if let Some(args) = (args as *const CK_C_INITIALIZE_ARGS).as_ref() {
            if !args.pReserved.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            let callbacks = [
                args.CreateMutex.is_some(),
                args.DestroyMutex.is_some(),
                args.LockMutex.is_some(),
                args.UnlockMutex.is_some(),
            ];
            let given = callbacks.iter().filter(|b| **b).count();
            if given != 0 && given != 4 {
                return Err(CKR_ARGUMENTS_BAD);
            }
            // Callbacks without CKF_OS_LOCKING_OK: we lock with the OS's
            // primitives only, which the standard lets us refuse.
            if given == 4 && args.flags & CKF_OS_LOCKING_OK == 0 {
                return Err(CKR_CANT_LOCK);
            }
        }
        state::initialize()
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_Finalize(reserved: *mut c_void) -> CK_RV {
    guard(|| {
        if !reserved.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        state::finalize()
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetInfo(info: *mut CK_INFO) -> CK_RV {
    guard(|| {
        state::module()?;
        let info = out(info)?;
        *info = CK_INFO {
            cryptokiVersion: CK_VERSION { major: 3, minor: 0 },
            manufacturerID: pad("Cloud HSM emulator"),
            flags: 0,
            libraryDescription: pad("Azure Cloud HSM PKCS#11 (emulator)"),
            libraryVersion: CK_VERSION { major: 1, minor: 0 },
        };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetSlotList(
    _token_present: CK_BBOOL,
    list: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        let count = out(count)?;
        let n = module.slots.len();
        if list.is_null() {
            *count = n as CK_ULONG;
            return Ok(());
        }
        if (*count as usize) < n {
            *count = n as CK_ULONG;
            return Err(CKR_BUFFER_TOO_SMALL);
        }
        for i in 0..n {
            *list.add(i) = i as CK_SLOT_ID;
        }
        *count = n as CK_ULONG;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        let s = module.slot(slot)?;
        let info = out(info)?;
        *info = CK_SLOT_INFO {
            slotDescription: pad(&format!("Azure Cloud HSM cluster {}", s.label)),
            manufacturerID: pad("Cloud HSM emulator"),
            flags: CKF_TOKEN_PRESENT | CKF_HW_SLOT,
            hardwareVersion: CK_VERSION { major: 1, minor: 0 },
            firmwareVersion: CK_VERSION { major: 1, minor: 0 },
        };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetTokenInfo(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        let s = module.slot(slot)?;
        let info = out(info)?;
        let (sessions, rw) = module.sessions_of(slot as usize);
        *info = CK_TOKEN_INFO {
            label: pad(&s.label),
            manufacturerID: pad("Cloud HSM emulator"),
            model: pad("Cloud HSM"),
            serialNumber: pad(&s.serial),
            flags: CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_RNG,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: sessions as CK_ULONG,
            ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
            ulRwSessionCount: rw as CK_ULONG,
            ulMaxPinLen: 128,
            ulMinPinLen: 3,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: CK_VERSION { major: 1, minor: 0 },
            firmwareVersion: CK_VERSION { major: 1, minor: 0 },
            utcTime: pad(""),
        };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetMechanismList(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        module.slot(slot)?;
        let count = out(count)?;
        let n = mechanisms::TABLE.len();
        if list.is_null() {
            *count = n as CK_ULONG;
            return Ok(());
        }
        if (*count as usize) < n {
            *count = n as CK_ULONG;
            return Err(CKR_BUFFER_TOO_SMALL);
        }
        for (i, (m, ..)) in mechanisms::TABLE.iter().enumerate() {
            *list.add(i) = *m;
        }
        *count = n as CK_ULONG;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    kind: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        module.slot(slot)?;
        let info = out(info)?;
        let (_, min, max, flags) = mechanisms::TABLE
            .iter()
            .find(|(m, ..)| *m == kind)
            .ok_or(CKR_MECHANISM_INVALID)?;
        *info = CK_MECHANISM_INFO {
            ulMinKeySize: *min,
            ulMaxKeySize: *max,
            flags: flags | CKF_HW,
        };
        Ok(())
    })
}

// ---- sessions and login ----

#[no_mangle]
pub unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _app: *mut c_void,
    _notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        module.slot(slot)?;
        if flags & CKF_SERIAL_SESSION == 0 {
            return Err(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
        }
        let session = out(session)?;
        *session = module.open_session(slot, flags & CKF_RW_SESSION != 0)?;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_CloseSession(session: CK_SESSION_HANDLE) -> CK_RV {
    guard(|| state::module()?.close_session(session))
}

#[no_mangle]
pub unsafe extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    guard(|| state::module()?.close_all_sessions(slot))
}

#[no_mangle]
pub unsafe extern "C" fn C_GetSessionInfo(
    session: CK_SESSION_HANDLE,
    info: *mut CK_SESSION_INFO,
) -> CK_RV {
    guard(|| {
        with_session(session, |_, slot, s| {
            let info = out(info)?;
            let login = *lock(&slot.login);
            let state = match (login, s.read_write) {
                (Some(CKU_SO), _) => CKS_RW_SO_FUNCTIONS,
                (Some(_), true) => CKS_RW_USER_FUNCTIONS,
                (Some(_), false) => CKS_RO_USER_FUNCTIONS,
                (None, true) => CKS_RW_PUBLIC_SESSION,
                (None, false) => CKS_RO_PUBLIC_SESSION,
            };
            *info = CK_SESSION_INFO {
                slotID: s.slot as CK_SLOT_ID,
                state,
                flags: CKF_SERIAL_SESSION | if s.read_write { CKF_RW_SESSION } else { 0 },
                ulDeviceError: 0,
            };
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_Login(
    session: CK_SESSION_HANDLE,
    user_type: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        let module = state::module()?;
        let pin = bytes(pin, pin_len)?;
        module.login(session, user_type, pin)
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_Logout(session: CK_SESSION_HANDLE) -> CK_RV {
    guard(|| state::module()?.logout(session))
}

// ---- objects ----

#[no_mangle]
pub unsafe extern "C" fn C_CreateObject(
    session: CK_SESSION_HANDLE,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
    handle: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| {
        let t = template(attrs, count)?;
        let handle = out(handle)?;
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            let class =
                objects::ulong(objects::find_in(&t, CKA_CLASS).ok_or(CKR_TEMPLATE_INCOMPLETE)?)?;
            *handle = match class {
                CKO_PUBLIC_KEY => objects::import_public(module, slot, &t)?,
                CKO_CERTIFICATE => objects::create_certificate(module, slot, &t)?,
                // Secret and private keys come in wrapped (C_UnwrapKey).
                _ => return Err(CKR_TEMPLATE_INCONSISTENT),
            };
            if objects::is_session_object(&t) {
                s.session_objects.push(*handle);
            }
            Ok(())
        })
    })
}

/// Certificates are copied (as Azure's library does); keys are not
/// CKA_COPYABLE. The template may give the copy another label or id, or
/// make it a session object.
#[no_mangle]
pub unsafe extern "C" fn C_CopyObject(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
    handle: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| {
        let t = template(attrs, count)?;
        let handle = out(handle)?;
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            if module.key_info(slot, object)?.class != CKO_CERTIFICATE {
                return Err(CKR_ACTION_PROHIBITED);
            }
            let changes = objects::copy_changes(&t)?;
            *handle = module
                .block(module.client(slot).copy_object(object, changes))
                .map_err(|e| from_client(&e))?;
            if objects::is_session_object(&t) {
                s.session_objects.push(*handle);
            }
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_DestroyObject(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            module.key_info(slot, object)?;
            module
                .block(module.client(slot).delete_key(object))
                .map_err(|e| from_client(&e))?;
            s.session_objects.retain(|h| *h != object);
            slot.keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&object);
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetAttributeValue(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    guard(|| {
        if count > 0 && attrs.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        with_session(session, |module, slot, _| {
            module.key_info(slot, object)?;
            let attrs = std::slice::from_raw_parts_mut(attrs, count as usize);
            // Every attribute is answered; the last error is returned.
            let mut result = Ok(());
            for a in attrs.iter_mut() {
                match module.attribute(slot, object, a.type_) {
                    Ok(value) => {
                        if a.pValue.is_null() {
                            a.ulValueLen = value.len() as CK_ULONG;
                        } else if (a.ulValueLen as usize) < value.len() {
                            a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                            result = Err(CKR_BUFFER_TOO_SMALL);
                        } else {
                            std::ptr::copy_nonoverlapping(
                                value.as_ptr(),
                                a.pValue as *mut u8,
                                value.len(),
                            );
                            a.ulValueLen = value.len() as CK_ULONG;
                        }
                    }
                    Err(rv @ (CKR_ATTRIBUTE_SENSITIVE | CKR_ATTRIBUTE_TYPE_INVALID)) => {
                        a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                        result = Err(rv);
                    }
                    Err(rv) => return Err(rv),
                }
            }
            result
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_SetAttributeValue(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    guard(|| {
        let t = template(attrs, count)?;
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            for (kind, value) in &t {
                module.set_attribute(slot, object, *kind, value)?;
            }
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_FindObjectsInit(
    session: CK_SESSION_HANDLE,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    guard(|| {
        let t = template(attrs, count)?;
        with_session(session, |module, slot, s| {
            if s.find.is_some() {
                return Err(CKR_OPERATION_ACTIVE);
            }
            s.find = Some(module.find(slot, &t)?.into());
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_FindObjects(
    session: CK_SESSION_HANDLE,
    found: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let count = out(count)?;
        if found.is_null() && max > 0 {
            return Err(CKR_ARGUMENTS_BAD);
        }
        with_session(session, |_, _, s| {
            let queue = s.find.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            let mut n = 0;
            while n < max as usize {
                let Some(h) = queue.pop_front() else { break };
                *found.add(n) = h;
                n += 1;
            }
            *count = n as CK_ULONG;
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_FindObjectsFinal(session: CK_SESSION_HANDLE) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, s| {
            s.find.take().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            Ok(())
        })
    })
}

// ---- keys ----

#[no_mangle]
pub unsafe extern "C" fn C_GenerateKey(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
    handle: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| {
        let m = mechanism(mech)?;
        let t = template(attrs, count)?;
        let handle = out(handle)?;
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            let key_type = match m.kind {
                CKM_AES_KEY_GEN => CKK_AES,
                CKM_GENERIC_SECRET_KEY_GEN => CKK_GENERIC_SECRET,
                _ => return Err(CKR_MECHANISM_INVALID),
            };
            if let Some(v) = objects::find_in(&t, CKA_KEY_TYPE) {
                if objects::ulong(v)? != key_type {
                    return Err(CKR_TEMPLATE_INCONSISTENT);
                }
            }
            let spec = objects::secret_spec(key_type, &t, None)?;
            let mut attributes = objects::engine_attributes(&[&t])?;
            objects::default_usages(&mut attributes, &[&t], spec);
            *handle = module
                .block(module.client(slot).generate_key(spec, attributes))
                .map_err(|e| from_client(&e))?;
            if objects::is_session_object(&t) {
                s.session_objects.push(*handle);
            }
            Ok(())
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GenerateKeyPair(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    public_attrs: *mut CK_ATTRIBUTE,
    public_count: CK_ULONG,
    private_attrs: *mut CK_ATTRIBUTE,
    private_count: CK_ULONG,
    public: *mut CK_OBJECT_HANDLE,
    private: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| {
        let m = mechanism(mech)?;
        let public_t = template(public_attrs, public_count)?;
        let private_t = template(private_attrs, private_count)?;
        let public = out(public)?;
        let private = out(private)?;
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            let spec = match m.kind {
                CKM_RSA_PKCS_KEY_PAIR_GEN => {
                    let bits = objects::ulong(
                        objects::find_in(&public_t, CKA_MODULUS_BITS)
                            .ok_or(CKR_TEMPLATE_INCOMPLETE)?,
                    )?;
                    if let Some(e) = objects::find_in(&public_t, CKA_PUBLIC_EXPONENT) {
                        if crate::der::strip_zeros(e) != [1, 0, 1] {
                            return Err(CKR_ATTRIBUTE_VALUE_INVALID);
                        }
                    }
                    KeySpec::Rsa { bits: bits as u32 }
                }
                CKM_EC_KEY_PAIR_GEN => {
                    let params = objects::find_in(&public_t, CKA_EC_PARAMS)
                        .or_else(|| objects::find_in(&private_t, CKA_EC_PARAMS))
                        .ok_or(CKR_TEMPLATE_INCOMPLETE)?;
                    KeySpec::Ec {
                        curve: objects::curve_from_params(params)?,
                    }
                }
                _ => return Err(CKR_MECHANISM_INVALID),
            };
            spec.check().map_err(|_| CKR_KEY_SIZE_RANGE)?;
            // The engine gives a pair one set of attributes and splits the
            // usages between the halves; the private template's label and
            // id win.
            let mut attributes = objects::engine_attributes(&[&public_t, &private_t])?;
            objects::default_usages(&mut attributes, &[&public_t, &private_t], spec);
            let (pub_handle, priv_handle) = module
                .block(module.client(slot).generate_key_pair(spec, attributes))
                .map_err(|e| from_client(&e))?;
            slot.pairs
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(priv_handle, pub_handle);
            if objects::is_session_object(&public_t) {
                s.session_objects.push(pub_handle);
            }
            if objects::is_session_object(&private_t) {
                s.session_objects.push(priv_handle);
            }
            *public = pub_handle;
            *private = priv_handle;
            Ok(())
        })
    })
}

fn wrap_mechanism(m: &Mechanism) -> CkResult<&'static str> {
    match m.kind {
        CKM_AES_KEY_WRAP_KWP | CKM_AES_KEY_WRAP_PAD => Ok("AES_KEY_WRAP_PAD"),
        CKM_RSA_PKCS_OAEP => {
            mechanisms::check_oaep(m)?;
            Ok("RSA_OAEP")
        }
        _ => Err(CKR_MECHANISM_INVALID),
    }
}

#[no_mangle]
pub unsafe extern "C" fn C_WrapKey(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    wrapping: CK_OBJECT_HANDLE,
    key: CK_OBJECT_HANDLE,
    wrapped: *mut u8,
    wrapped_len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let m = mechanism(mech)?;
        let name = wrap_mechanism(&m)?;
        with_session(session, |module, slot, _| {
            logged_in(slot)?;
            module
                .key_info(slot, wrapping)
                .map_err(|_| CKR_WRAPPING_KEY_HANDLE_INVALID)?;
            module
                .key_info(slot, key)
                .map_err(|_| CKR_KEY_HANDLE_INVALID)?;
            let data = module
                .block(module.client(slot).wrap_key(wrapping, key, name))
                .map_err(|e| match from_client(&e) {
                    CKR_KEY_TYPE_INCONSISTENT => CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
                    other => other,
                })?;
            deliver(wrapped, wrapped_len, &data).map(drop)
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_UnwrapKey(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    unwrapping: CK_OBJECT_HANDLE,
    wrapped: *mut u8,
    wrapped_len: CK_ULONG,
    attrs: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
    handle: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| {
        let m = mechanism(mech)?;
        let name = wrap_mechanism(&m)?;
        let data = bytes(wrapped, wrapped_len)?;
        let t = template(attrs, count)?;
        let handle = out(handle)?;
        with_session(session, |module, slot, s| {
            logged_in(slot)?;
            writable(s)?;
            module
                .key_info(slot, unwrapping)
                .map_err(|_| CKR_UNWRAPPING_KEY_HANDLE_INVALID)?;
            let key_type =
                objects::ulong(objects::find_in(&t, CKA_KEY_TYPE).ok_or(CKR_TEMPLATE_INCOMPLETE)?)?;
            // KWP output is the key padded to 8 bytes, plus 8.
            let inferred = (name == "AES_KEY_WRAP_PAD" && key_type == CKK_AES && data.len() > 8)
                .then(|| data.len() - 8);
            let spec = objects::secret_spec(key_type, &t, inferred)?;
            let attributes = objects::engine_attributes(&[&t])?;
            *handle = module
                .block(
                    module
                        .client(slot)
                        .unwrap_key(unwrapping, data, name, spec, attributes),
                )
                .map_err(|e| match from_client(&e) {
                    CKR_DATA_INVALID | CKR_ENCRYPTED_DATA_INVALID => CKR_WRAPPED_KEY_INVALID,
                    other => other,
                })?;
            if objects::is_session_object(&t) {
                s.session_objects.push(*handle);
            }
            Ok(())
        })
    })
}

// ---- sign and verify ----

fn sign_init(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
    signing: bool,
) -> CkResult<()> {
    let m = unsafe { mechanism(mech)? };
    with_session(session, |module, slot, s| {
        let slot_op = if signing { &s.sign } else { &s.verify };
        if slot_op.is_some() {
            return Err(CKR_OPERATION_ACTIVE);
        }
        logged_in(slot)?;
        let info = module
            .key_info(slot, key)
            .map_err(|_| CKR_KEY_HANDLE_INVALID)?;
        let op = SignOp::new(&m, key, info, signing)?;
        if signing {
            s.sign = Some(op);
        } else {
            s.verify = Some(op);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_SignInit(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| sign_init(session, mech, key, true))
}

#[no_mangle]
pub unsafe extern "C" fn C_VerifyInit(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| sign_init(session, mech, key, false))
}

/// The last step of signing: a size query answers the length without
/// making the signature; anything but CKR_BUFFER_TOO_SMALL ends the operation.
unsafe fn sign_final(
    module: &Module,
    slot: &state::Slot,
    s: &mut Session,
    signature: *mut u8,
    len: *mut CK_ULONG,
) -> CkResult<()> {
    let op = s.sign.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    if signature.is_null() && op.result.is_none() {
        *out(len)? = op.signature_len() as CK_ULONG;
        return Ok(());
    }
    let result = (|| {
        if op.result.is_none() {
            let (name, input) = op.engine_input()?;
            let engine = module
                .crypto(slot, CryptoInput::new(op.key, CryptoOp::Sign, name, &input))
                .map_err(|e| from_client(&e))?;
            op.result = Some(op.signature_out(engine)?);
        }
        deliver(signature, len, op.result.as_deref().unwrap_or_default())
    })();
    match result {
        Err(CKR_BUFFER_TOO_SMALL) => Err(CKR_BUFFER_TOO_SMALL),
        Ok(false) => Ok(()),
        other => {
            s.sign = None;
            other.map(drop)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn C_Sign(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    signature: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            let op = s.sign.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            if op.multipart {
                s.sign = None;
                return Err(CKR_OPERATION_ACTIVE);
            }
            if op.result.is_none() {
                let data = match bytes(data, data_len) {
                    Ok(d) => d,
                    Err(rv) => {
                        s.sign = None;
                        return Err(rv);
                    }
                };
                if !signature.is_null() {
                    op.update(data);
                } else {
                    // A size query: the data is taken with the real call.
                    return sign_final(module, slot, s, signature, len);
                }
            }
            sign_final(module, slot, s, signature, len)
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_SignUpdate(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, s| {
            let op = s.sign.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            match bytes(data, data_len) {
                Ok(d) => {
                    op.multipart = true;
                    op.update(d);
                    Ok(())
                }
                Err(rv) => {
                    s.sign = None;
                    Err(rv)
                }
            }
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_SignFinal(
    session: CK_SESSION_HANDLE,
    signature: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            sign_final(module, slot, s, signature, len)
        })
    })
}

unsafe fn verify_final(
    module: &Module,
    slot: &state::Slot,
    s: &mut Session,
    signature: &[u8],
) -> CkResult<()> {
    let mut op = s.verify.take().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    let signature = op.signature_in(signature)?;
    let (name, input) = op.engine_input()?;
    module
        .crypto(
            slot,
            CryptoInput {
                signature: &signature,
                ..CryptoInput::new(op.key, CryptoOp::Verify, name, &input)
            },
        )
        .map_err(|e| match from_client(&e) {
            CKR_DATA_INVALID if name == "RSA_PKCS1_PREHASHED" => CKR_SIGNATURE_INVALID,
            other => other,
        })
        .map(drop)
}

#[no_mangle]
pub unsafe extern "C" fn C_Verify(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    signature: *mut u8,
    signature_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            let op = s.verify.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            let args =
                bytes(data, data_len).and_then(|d| Ok((d, bytes(signature, signature_len)?)));
            match args {
                Ok((d, sig)) if !op.multipart => {
                    op.update(d);
                    verify_final(module, slot, s, sig)
                }
                Ok(_) => {
                    s.verify = None;
                    Err(CKR_OPERATION_ACTIVE)
                }
                Err(rv) => {
                    s.verify = None;
                    Err(rv)
                }
            }
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_VerifyUpdate(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, s| {
            let op = s.verify.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            match bytes(data, data_len) {
                Ok(d) => {
                    op.multipart = true;
                    op.update(d);
                    Ok(())
                }
                Err(rv) => {
                    s.verify = None;
                    Err(rv)
                }
            }
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_VerifyFinal(
    session: CK_SESSION_HANDLE,
    signature: *mut u8,
    signature_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            s.verify.as_ref().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            match bytes(signature, signature_len) {
                Ok(sig) => verify_final(module, slot, s, sig),
                Err(rv) => {
                    s.verify = None;
                    Err(rv)
                }
            }
        })
    })
}

// ---- encrypt and decrypt ----

fn cipher_init(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
    encrypting: bool,
) -> CkResult<()> {
    let m = unsafe { mechanism(mech)? };
    with_session(session, |module, slot, s| {
        let current = if encrypting { &s.encrypt } else { &s.decrypt };
        if current.is_some() {
            return Err(CKR_OPERATION_ACTIVE);
        }
        logged_in(slot)?;
        let info = module
            .key_info(slot, key)
            .map_err(|_| CKR_KEY_HANDLE_INVALID)?;
        let op = CipherOp::new(&m, key, info, encrypting)?;
        if encrypting {
            s.encrypt = Some(op);
        } else {
            s.decrypt = Some(op);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_EncryptInit(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| cipher_init(session, mech, key, true))
}

#[no_mangle]
pub unsafe extern "C" fn C_DecryptInit(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard(|| cipher_init(session, mech, key, false))
}

/// The engine call of an encryption or decryption, in PKCS#11's terms.
fn run_cipher(
    module: &Module,
    slot: &state::Slot,
    op: &mut CipherOp,
    encrypting: bool,
) -> CkResult<Vec<u8>> {
    let data = std::mem::take(&mut op.data);
    let call = |name: &str, input: &[u8], aad: &[u8]| {
        let kind = if encrypting {
            CryptoOp::Encrypt
        } else {
            CryptoOp::Decrypt
        };
        module
            .crypto(
                slot,
                CryptoInput {
                    aad,
                    ..CryptoInput::new(op.key, kind, name, input)
                },
            )
            .map_err(|e| match from_client(&e) {
                CKR_DATA_INVALID if !encrypting => CKR_ENCRYPTED_DATA_INVALID,
                other => other,
            })
    };
    match &op.kind {
        CipherKind::AesGcm { iv, aad } => {
            if encrypting {
                let sealed = call("AES_GCM", &data, aad)?;
                let (drawn, body) = sealed.split_at(12.min(sealed.len()));
                // SAFETY: the application's CK_GCM_PARAMS.pIv holds 12 bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(drawn.as_ptr(), *iv as *mut u8, drawn.len())
                };
                Ok(body.to_vec())
            } else {
                let mut input = vec![0u8; 12];
                // SAFETY: as above.
                unsafe { std::ptr::copy_nonoverlapping(*iv as *const u8, input.as_mut_ptr(), 12) };
                input.extend_from_slice(&data);
                call("AES_GCM", &input, aad)
            }
        }
        CipherKind::AesCbcPad { iv } => {
            let mut input = iv.to_vec();
            input.extend_from_slice(&data);
            if encrypting {
                let sealed = call("AES_CBC_PAD_WITH_IV", &input, &[])?;
                Ok(sealed.get(16..).unwrap_or_default().to_vec())
            } else {
                if data.is_empty() || data.len() % 16 != 0 {
                    return Err(CKR_ENCRYPTED_DATA_LEN_RANGE);
                }
                call("AES_CBC_PAD", &input, &[])
            }
        }
        CipherKind::RsaOaep => call("RSA_OAEP", &data, &[]),
    }
}

unsafe fn cipher_final(
    module: &Module,
    slot: &state::Slot,
    s: &mut Session,
    encrypting: bool,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CkResult<()> {
    let current = if encrypting {
        &mut s.encrypt
    } else {
        &mut s.decrypt
    };
    let op = current.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    let result = (|| {
        if op.result.is_none() {
            op.result = Some(run_cipher(module, slot, op, encrypting)?);
        }
        deliver(output, len, op.result.as_deref().unwrap_or_default())
    })();
    match result {
        Err(CKR_BUFFER_TOO_SMALL) => Err(CKR_BUFFER_TOO_SMALL),
        Ok(false) => Ok(()),
        other => {
            *current = None;
            other.map(drop)
        }
    }
}

unsafe fn cipher_single(
    session: CK_SESSION_HANDLE,
    encrypting: bool,
    data: *mut u8,
    data_len: CK_ULONG,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CkResult<()> {
    with_session(session, |module, slot, s| {
        let current = if encrypting {
            &mut s.encrypt
        } else {
            &mut s.decrypt
        };
        let op = current.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
        if op.multipart {
            *current = None;
            return Err(CKR_OPERATION_ACTIVE);
        }
        if op.result.is_none() {
            match bytes(data, data_len) {
                Ok(d) => op.data = d.to_vec(),
                Err(rv) => {
                    *current = None;
                    return Err(rv);
                }
            }
        }
        cipher_final(module, slot, s, encrypting, output, len)
    })
}

unsafe fn cipher_update(
    session: CK_SESSION_HANDLE,
    encrypting: bool,
    data: *mut u8,
    data_len: CK_ULONG,
    len: *mut CK_ULONG,
) -> CkResult<()> {
    with_session(session, |_, _, s| {
        let current = if encrypting {
            &mut s.encrypt
        } else {
            &mut s.decrypt
        };
        let op = current.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
        let taken = bytes(data, data_len).and_then(|d| Ok((d, out(len)?)));
        match taken {
            Ok((d, len)) => {
                op.multipart = true;
                op.data.extend_from_slice(d);
                // Everything comes out of the final call.
                *len = 0;
                Ok(())
            }
            Err(rv) => {
                *current = None;
                Err(rv)
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_Encrypt(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| cipher_single(session, true, data, data_len, output, len))
}

#[no_mangle]
pub unsafe extern "C" fn C_EncryptUpdate(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    _output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| cipher_update(session, true, data, data_len, len))
}

#[no_mangle]
pub unsafe extern "C" fn C_EncryptFinal(
    session: CK_SESSION_HANDLE,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            cipher_final(module, slot, s, true, output, len)
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_Decrypt(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| cipher_single(session, false, data, data_len, output, len))
}

#[no_mangle]
pub unsafe extern "C" fn C_DecryptUpdate(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    _output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| cipher_update(session, false, data, data_len, len))
}

#[no_mangle]
pub unsafe extern "C" fn C_DecryptFinal(
    session: CK_SESSION_HANDLE,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |module, slot, s| {
            cipher_final(module, slot, s, false, output, len)
        })
    })
}

// ---- digests and random (in the library, as Azure's does: no key involved) ----

#[no_mangle]
pub unsafe extern "C" fn C_DigestInit(
    session: CK_SESSION_HANDLE,
    mech: *mut CK_MECHANISM,
) -> CK_RV {
    guard(|| {
        let m = mechanism(mech)?;
        with_session(session, |_, _, s| {
            if s.digest.is_some() {
                return Err(CKR_OPERATION_ACTIVE);
            }
            let algorithm = mechanisms::digest_algorithm(m.kind).ok_or(CKR_MECHANISM_INVALID)?;
            s.digest = Some(DigestOp {
                context: aws_lc_rs::digest::Context::new(algorithm),
                multipart: false,
                result: None,
            });
            Ok(())
        })
    })
}

unsafe fn digest_final(s: &mut Session, output: *mut u8, len: *mut CK_ULONG) -> CkResult<()> {
    let op = s.digest.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    if op.result.is_none() {
        op.result = Some(op.context.clone().finish().as_ref().to_vec());
    }
    match deliver(output, len, op.result.as_deref().unwrap_or_default()) {
        Err(CKR_BUFFER_TOO_SMALL) => Err(CKR_BUFFER_TOO_SMALL),
        Ok(false) => Ok(()),
        other => {
            s.digest = None;
            other.map(drop)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn C_Digest(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, s| {
            let op = s.digest.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            if op.multipart {
                s.digest = None;
                return Err(CKR_OPERATION_ACTIVE);
            }
            if op.result.is_none() {
                match bytes(data, data_len) {
                    Ok(d) => {
                        let mut context = op.context.clone();
                        context.update(d);
                        op.result = Some(context.finish().as_ref().to_vec());
                    }
                    Err(rv) => {
                        s.digest = None;
                        return Err(rv);
                    }
                }
            }
            digest_final(s, output, len)
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_DigestUpdate(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, s| {
            let op = s.digest.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            match bytes(data, data_len) {
                Ok(d) => {
                    op.multipart = true;
                    op.context.update(d);
                    Ok(())
                }
                Err(rv) => {
                    s.digest = None;
                    Err(rv)
                }
            }
        })
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_DigestFinal(
    session: CK_SESSION_HANDLE,
    output: *mut u8,
    len: *mut CK_ULONG,
) -> CK_RV {
    guard(|| with_session(session, |_, _, s| digest_final(s, output, len)))
}

#[no_mangle]
pub unsafe extern "C" fn C_SeedRandom(
    session: CK_SESSION_HANDLE,
    _seed: *mut u8,
    _len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, _| Ok(()))?;
        Err(CKR_RANDOM_SEED_NOT_SUPPORTED)
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GenerateRandom(
    session: CK_SESSION_HANDLE,
    output: *mut u8,
    len: CK_ULONG,
) -> CK_RV {
    guard(|| {
        use aws_lc_rs::rand::SecureRandom;
        with_session(session, |_, _, _| Ok(()))?;
        if len == 0 {
            return Ok(());
        }
        if output.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let buffer = std::slice::from_raw_parts_mut(output, len as usize);
        aws_lc_rs::rand::SystemRandom::new()
            .fill(buffer)
            .map_err(|_| CKR_FUNCTION_FAILED)
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetFunctionStatus(session: CK_SESSION_HANDLE) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, _| Ok(()))?;
        Err(CKR_FUNCTION_NOT_PARALLEL)
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_CancelFunction(session: CK_SESSION_HANDLE) -> CK_RV {
    guard(|| {
        with_session(session, |_, _, _| Ok(()))?;
        Err(CKR_FUNCTION_NOT_PARALLEL)
    })
}

// ---- function lists and interfaces ----

#[no_mangle]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    guard(|| {
        *out(list)? = crate::lists::v2() as *const CK_FUNCTION_LIST as *mut CK_FUNCTION_LIST;
        Ok(())
    })
}

static INTERFACE_NAME: &[u8] = b"PKCS 11\0";

fn interfaces() -> [CK_INTERFACE; 2] {
    [
        CK_INTERFACE {
            pInterfaceName: INTERFACE_NAME.as_ptr() as *mut u8,
            pFunctionList: crate::lists::v3() as *const _ as *mut c_void,
            flags: 0,
        },
        CK_INTERFACE {
            pInterfaceName: INTERFACE_NAME.as_ptr() as *mut u8,
            pFunctionList: crate::lists::v2() as *const _ as *mut c_void,
            flags: 0,
        },
    ]
}

#[no_mangle]
pub unsafe extern "C" fn C_GetInterfaceList(
    list: *mut CK_INTERFACE,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard(|| {
        let count = out(count)?;
        let all = interfaces();
        if list.is_null() {
            *count = all.len() as CK_ULONG;
            return Ok(());
        }
        if (*count as usize) < all.len() {
            *count = all.len() as CK_ULONG;
            return Err(CKR_BUFFER_TOO_SMALL);
        }
        for (i, interface) in all.into_iter().enumerate() {
            *list.add(i) = interface;
        }
        *count = 2;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn C_GetInterface(
    name: *mut CK_UTF8CHAR,
    version: *mut CK_VERSION,
    interface: *mut *mut CK_INTERFACE,
    flags: CK_FLAGS,
) -> CK_RV {
    guard(|| {
        let interface = out(interface)?;
        if !name.is_null() {
            let asked = std::ffi::CStr::from_ptr(name as *const std::ffi::c_char);
            if asked.to_bytes() != b"PKCS 11" {
                return Err(CKR_ARGUMENTS_BAD);
            }
        }
        if flags != 0 {
            return Err(CKR_ARGUMENTS_BAD);
        }
        static V3: std::sync::OnceLock<Interfaces> = std::sync::OnceLock::new();
        let all = V3.get_or_init(|| Interfaces(interfaces()));
        let chosen = match version.as_ref() {
            None => &all.0[0],
            Some(CK_VERSION { major: 3, minor: 0 }) => &all.0[0],
            Some(CK_VERSION {
                major: 2,
                minor: 40,
            }) => &all.0[1],
            Some(_) => return Err(CKR_ARGUMENTS_BAD),
        };
        *interface = chosen as *const CK_INTERFACE as *mut CK_INTERFACE;
        Ok(())
    })
}

/// The interfaces, kept for the process: applications keep the pointer.
struct Interfaces([CK_INTERFACE; 2]);
// SAFETY: read-only after creation; the pointers are to statics.
unsafe impl Send for Interfaces {}
unsafe impl Sync for Interfaces {}

#[allow(dead_code)]
fn _assert_types(_: Arc<Module>, _: Curve) {}
