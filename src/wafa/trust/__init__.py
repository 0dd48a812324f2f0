"""Trust: limits against abuse (request rates, body sizes, sign-in floods), shared by every process
through Redis or kept in one process's memory."""
