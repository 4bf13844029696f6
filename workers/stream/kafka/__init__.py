"""Plain aiokafka, no Faust: the clients the commands use, the connection options (TLS,
SASL), and the dead-letter topic read and replayed."""
