//! ARM's request size limit: bodies over 4 MB are refused with `413
//! RequestContentTooLarge` ("The request content size exceeds the maximum
//! size of 4 MB.", as ARM answers). The body is read to its end first (see
//! [`cloudhsm_data_plane::server::limits`]) so the client gets the answer
//! instead of a reset.

use axum::{extract::Request, middleware::Next, response::IntoResponse, response::Response};
use cloudhsm_data_plane::server::limits::{body_limit, BodyProblem};

use super::error::ArmError;

/// ARM's limit (4 MB; taken as MiB, the larger reading).
pub const ARM_MAX_BODY: usize = 4 * 1024 * 1024;

pub async fn arm_body_limit(request: Request, next: Next) -> Response {
    body_limit(request, next, ARM_MAX_BODY, refusal).await
}

fn refusal(problem: BodyProblem) -> Response {
    match problem {
        BodyProblem::TooLarge { .. } => ArmError::RequestContentTooLarge,
        BodyProblem::TimedOut => ArmError::RequestTimeout,
        BodyProblem::Broken => {
            ArmError::invalid_content("The request content could not be read.", None)
        }
    }
    .into_response()
}
