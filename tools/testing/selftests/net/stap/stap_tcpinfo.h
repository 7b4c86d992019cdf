/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _STAP_TCPINFO_H
#define _STAP_TCPINFO_H

/* TCP_INFO's tcpi_bytes_received of @fd (the FIN counts one), or -1 */
long long stap_bytes_received(int fd);

#endif /* _STAP_TCPINFO_H */
