"""Operations: TLS for `odex serve`, encrypted backups and restore."""
