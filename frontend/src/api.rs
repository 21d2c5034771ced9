//! How a request to the API ended, as the crypto worker reports it. The worker does all HTTP
//! (to this origin only, without cookies or referrer); the page only decides what to show and
//! whether to try again.

use cluebox_protocol::worker::FromWorker;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer: offline, connection reset, server unreachable. Worth retrying.
    Network,
    /// The server answered with an error (the message is for people).
    Server {
        /// HTTP status.
        status: u16,
        /// The stable error code (empty if the answer was not the API's JSON error).
        code: String,
        /// The server's sentence.
        message: String,
    },
    /// The worker could not do its part (the message says why).
    Worker(String),
}

impl ApiError {
    /// The failure an answer reports (`None` if it is not a failure).
    pub fn from_answer(answer: FromWorker) -> Option<Self> {
        match answer {
            FromWorker::Http { status: 0, .. } => Some(ApiError::Network),
            FromWorker::Http {
                status,
                code,
                message,
                ..
            } => Some(ApiError::Server {
                status,
                code,
                message,
            }),
            FromWorker::Failed { message, .. } => Some(ApiError::Worker(message)),
            _ => None,
        }
    }

    /// Whether retrying the same request may help (network trouble, 5xx, 429).
    pub fn retryable(&self) -> bool {
        match self {
            ApiError::Network => true,
            ApiError::Server { status, .. } => *status >= 500 || *status == 429,
            ApiError::Worker(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> FromWorker {
        FromWorker::Http {
            id: 1,
            status,
            code: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn network_trouble_and_overload_are_retried_refusals_are_not() {
        let kind = |a| ApiError::from_answer(a).unwrap().retryable();
        assert!(kind(http(0)));
        assert!(kind(http(502)));
        assert!(kind(http(429)));
        assert!(!kind(http(400)));
        assert!(!kind(http(413)));
        assert!(!kind(FromWorker::Failed {
            id: 1,
            message: "x".into()
        }));
        assert_eq!(ApiError::from_answer(FromWorker::Sent { id: 1 }), None);
    }
}
