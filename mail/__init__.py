"""The e-mail room: what each e-mail says in French and English, how it is rendered, how it reaches an SMTP server."""
