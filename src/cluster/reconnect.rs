//! Watches and log streams that lose the API server keep retrying, but not
//! for ever: once the server has not answered for [`LOST_AFTER`], the
//! command ends with the server's address and the cause, instead of hanging
//! or running into its time-out without saying why.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Instant;

use super::objects::ObjectError;

/// How long a stream retries a server that does not answer at all: long
/// enough for an API server to restart, short enough to notice.
pub const LOST_AFTER: Duration = Duration::from_secs(30);

/// Whether the server answers, as seen by one stream.
#[derive(Debug, Default)]
pub struct Reachability {
    lost_since: Option<Instant>,
    cause: String,
    /// A server that never answered is unreachable, not lost.
    ever_answered: bool,
}

impl Reachability {
    /// Something came back: the server is there.
    pub fn answered(&mut self) {
        self.lost_since = None;
        self.ever_answered = true;
    }

    /// Records a failed request. `Err` ends the stream: an error that
    /// retrying cannot fix, or a server gone for [`LOST_AFTER`].
    pub fn failed(&mut self, err: ObjectError) -> Result<(), ObjectError> {
        if err.is_permanent() {
            return Err(err);
        }
        if let ObjectError::Unreachable(cause) = err {
            let since = *self.lost_since.get_or_insert_with(Instant::now);
            self.cause = cause;
            if since.elapsed() >= LOST_AFTER {
                return Err(self.lost_error(since));
            }
        }
        Ok(())
    }

    /// The lost-server error if the server is gone right now (for a wait
    /// whose deadline passes meanwhile).
    pub fn lost(&self) -> Option<ObjectError> {
        self.lost_since.map(|since| self.lost_error(since))
    }

    /// The stream's next item; once the server has been gone for
    /// [`LOST_AFTER`], the lost-server error, even while the stream itself
    /// is still backing off.
    pub async fn next<S: Stream + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<Option<S::Item>, ObjectError> {
        match self.lost_since {
            None => Ok(stream.next().await),
            Some(since) => tokio::time::timeout_at(since + LOST_AFTER, stream.next())
                .await
                .map_err(|_| self.lost_error(since)),
        }
    }

    fn lost_error(&self, since: Instant) -> ObjectError {
        if !self.ever_answered {
            return ObjectError::Unreachable(self.cause.clone());
        }
        ObjectError::Lost {
            seconds: since.elapsed().as_secs(),
            cause: self.cause.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> ObjectError {
        ObjectError::Unreachable("The connection to the server 127.0.0.1:1 was refused".into())
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_gone_too_long_ends_the_stream_with_the_cause() {
        let mut reach = Reachability::default();
        reach.answered();
        assert!(reach.failed(refused()).is_ok());
        let mut silent = futures::stream::pending::<()>();
        let err = reach.next(&mut silent).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "lost the Kubernetes API server: no answer for 30s: The connection to the server 127.0.0.1:1 was refused"
        );
        assert!(reach.lost().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_resets_the_clock_and_permanent_errors_end_at_once() {
        let mut reach = Reachability::default();
        assert!(reach.failed(refused()).is_ok());
        tokio::time::advance(Duration::from_secs(20)).await;
        reach.answered();
        assert!(reach.lost().is_none());
        assert!(reach.failed(refused()).is_ok());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(reach.failed(refused()).is_ok());
        assert!(matches!(
            reach.failed(ObjectError::Unauthorized),
            Err(ObjectError::Unauthorized)
        ));
        // A server that never answered is unreachable, not lost.
        let mut never = Reachability::default();
        assert!(never.failed(refused()).is_ok());
        assert!(matches!(never.lost(), Some(ObjectError::Unreachable(_))));
        // A server that answers with errors is not lost.
        let mut answering = Reachability::default();
        assert!(
            answering
                .failed(ObjectError::Api("etcd is slow".into()))
                .is_ok()
        );
        assert!(answering.lost().is_none());
    }
}
