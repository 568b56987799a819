//! The state a utility run keeps between commands: where the cluster is,
//! the data-plane client (made on first use), and who is logged in.

use std::future::Future;

use cloudhsm_data_plane::client::{credentials_from_env, ClientConfig, ClientError, HsmClient};

use super::{locate::Options, UtilError};

pub struct Ctx {
    runtime: tokio::runtime::Runtime,
    options: Options,
    client: Option<(HsmClient, ClientConfig)>,
    /// `(user type, user name)` of the current login.
    pub logged_in: Option<(String, String)>,
}

/// The client, borrowed for one command.
pub struct Hsm<'a> {
    runtime: &'a tokio::runtime::Runtime,
    pub client: &'a HsmClient,
}

impl Hsm<'_> {
    /// Runs one HSM call; `call` is the status line's name for it
    /// (`Cfm3GenerateSymmetricKey`).
    pub fn run<T>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, UtilError> {
        self.runtime
            .block_on(work)
            .map_err(|error| UtilError::Hsm { call, error })
    }
}

impl Ctx {
    pub fn new(options: Options) -> Result<Self, UtilError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| UtilError::Config(format!("async runtime: {e}")))?;
        Ok(Self {
            runtime,
            options,
            client: None,
            logged_in: None,
        })
    }

    /// The client, connecting on first use. No login is attempted.
    pub fn connect(&mut self) -> Result<Hsm<'_>, UtilError> {
        if self.client.is_none() {
            let config = self.runtime.block_on(self.options.resolve())?;
            let client = HsmClient::new(config.clone())
                .map_err(|e| UtilError::Config(format!("{}: {}", e.code, e.message)))?;
            self.client = Some((client, config));
        }
        match &self.client {
            Some((client, _)) => Ok(Hsm {
                runtime: &self.runtime,
                client,
            }),
            None => Err(UtilError::Config("no client".into())),
        }
    }

    /// Where the client connects (after [`connect`](Self::connect)).
    pub fn config(&mut self) -> Result<ClientConfig, UtilError> {
        self.connect()?;
        self.client
            .as_ref()
            .map(|(_, config)| config.clone())
            .ok_or_else(|| UtilError::Config("no client".into()))
    }

    /// The client of a logged-in user. Without an explicit `loginHSM`, the
    /// credentials in `azcloudhsm_password` (and `azcloudhsm_user_type`) log
    /// in implicitly, as the Cloud HSM SDKs do.
    pub fn session(&mut self) -> Result<Hsm<'_>, UtilError> {
        // Where the cluster is comes first: a missing configuration is the
        // problem to report, not the missing login.
        self.connect()?;
        if self.logged_in.is_none() {
            let (user_type, user, _) = credentials_from_env().ok_or(UtilError::NotLoggedIn)?;
            let hsm = self.connect()?;
            hsm.run("Cfm3LoginHSM", hsm.client.login_from_env())?;
            eprintln!("Logged in as {user_type} '{user}' from azcloudhsm_password");
            self.logged_in = Some((user_type, user));
        }
        self.connect()
    }
}
