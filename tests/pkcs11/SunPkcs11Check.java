// Compiled and run by tests/pkcs11.rs: the JCE path of Azure's seed.
// OpenJDK's SunPKCS11 provider, configured with the module, generates RSA
// and EC key pairs on the token (logged in implicitly through
// azcloudhsm_password), signs with them, and the JDK's own providers
// verify the signatures. Then the PKCS11 KeyStore: each key gets a
// certificate it signed itself, stored on the HSM with setKeyEntry, listed
// by aliases(), read back by a second KeyStore, and deleted.
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.*;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.*;
import java.security.spec.*;
import java.util.Collections;
import java.util.List;

public class SunPkcs11Check {
    public static void main(String[] args) throws Exception {
        Provider p11 = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p11);
        byte[] data = "signed through SunPKCS11".getBytes("UTF-8");

        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA", p11);
        rsa.initialize(2048);
        KeyPair rsaPair = rsa.generateKeyPair();
        Signature signer = Signature.getInstance("SHA256withRSA", p11);
        signer.initSign(rsaPair.getPrivate());
        signer.update(data);
        byte[] rsaSignature = signer.sign();
        RSAPublicKey rsaPublic = (RSAPublicKey) rsaPair.getPublic();
        PublicKey plainRsa = KeyFactory.getInstance("RSA", "SunRsaSign").generatePublic(
            new RSAPublicKeySpec(rsaPublic.getModulus(), rsaPublic.getPublicExponent()));
        Signature verifier = Signature.getInstance("SHA256withRSA", "SunRsaSign");
        verifier.initVerify(plainRsa);
        verifier.update(data);
        if (!verifier.verify(rsaSignature)) throw new AssertionError("RSA signature rejected");

        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC", p11);
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair ecPair = ec.generateKeyPair();
        Signature ecSigner = Signature.getInstance("SHA256withECDSA", p11);
        ecSigner.initSign(ecPair.getPrivate());
        ecSigner.update(data);
        byte[] ecSignature = ecSigner.sign();
        PublicKey plainEc = KeyFactory.getInstance("EC", "SunEC").generatePublic(
            new X509EncodedKeySpec(ecPair.getPublic().getEncoded()));
        Signature ecVerifier = Signature.getInstance("SHA256withECDSA", "SunEC");
        ecVerifier.initVerify(plainEc);
        ecVerifier.update(data);
        if (!ecVerifier.verify(ecSignature)) throw new AssertionError("ECDSA signature rejected");

        // The KeyStore: certificates made here (signed on the token), the
        // JDK's own providers check them.
        char[] pin = System.getenv("azcloudhsm_password").toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS11", p11);
        store.load(null, pin);
        X509Certificate rsaCert = selfSigned(rsaPair, "SHA256withRSA", SHA256_WITH_RSA, p11, "java-rsa");
        X509Certificate ecCert = selfSigned(ecPair, "SHA256withECDSA", ECDSA_WITH_SHA256, p11, "java-ec");
        rsaCert.verify(plainRsa);
        ecCert.verify(plainEc);
        store.setKeyEntry("java-rsa", rsaPair.getPrivate(), null, new Certificate[] {rsaCert});
        store.setKeyEntry("java-ec", ecPair.getPrivate(), null, new Certificate[] {ecCert});

        KeyStore reopened = KeyStore.getInstance("PKCS11", p11);
        reopened.load(null, pin);
        List<String> aliases = Collections.list(reopened.aliases());
        if (!aliases.contains("java-rsa") || !aliases.contains("java-ec"))
            throw new AssertionError("aliases: " + aliases);
        if (!reopened.isKeyEntry("java-rsa")) throw new AssertionError("java-rsa is not a key entry");
        if (!rsaCert.equals(reopened.getCertificate("java-rsa")))
            throw new AssertionError("the stored certificate differs");
        if (!"java-ec".equals(reopened.getCertificateAlias(ecCert)))
            throw new AssertionError("certificate alias: " + reopened.getCertificateAlias(ecCert));
        PrivateKey stored = (PrivateKey) reopened.getKey("java-rsa", null);
        Signature again = Signature.getInstance("SHA256withRSA", p11);
        again.initSign(stored);
        again.update(data);
        byte[] storedSignature = again.sign();
        verifier.initVerify(rsaCert.getPublicKey());
        verifier.update(data);
        if (!verifier.verify(storedSignature)) throw new AssertionError("the stored key's signature");

        reopened.deleteEntry("java-ec");
        KeyStore afterDelete = KeyStore.getInstance("PKCS11", p11);
        afterDelete.load(null, pin);
        List<String> left = Collections.list(afterDelete.aliases());
        if (left.contains("java-ec") || !left.contains("java-rsa"))
            throw new AssertionError("aliases after deleteEntry: " + left);
        System.out.println("KeyStore aliases " + left);
        System.out.println("SunPKCS11 OK");
    }

    static final byte[] SHA256_WITH_RSA = der(0x30,
        der(0x06, bytes(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b)), der(0x05));
    static final byte[] ECDSA_WITH_SHA256 = der(0x30,
        der(0x06, bytes(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)));

    /** A v3 certificate for the pair, signed by its private key on the token. */
    static X509Certificate selfSigned(KeyPair pair, String algorithm, byte[] algorithmId,
            Provider p11, String cn) throws Exception {
        byte[] name = der(0x30, der(0x31, der(0x30,
            der(0x06, bytes(0x55, 0x04, 0x03)), der(0x0c, cn.getBytes("UTF-8")))));
        byte[] validity = der(0x30, der(0x17, "250101000000Z".getBytes("US-ASCII")),
            der(0x17, "351231235959Z".getBytes("US-ASCII")));
        byte[] tbs = der(0x30, der(0xa0, der(0x02, bytes(2))), der(0x02, bytes(0x01, cn.length())),
            algorithmId, name, validity, name, pair.getPublic().getEncoded());
        Signature signer = Signature.getInstance(algorithm, p11);
        signer.initSign(pair.getPrivate());
        signer.update(tbs);
        byte[] signature = signer.sign();
        byte[] bits = new byte[signature.length + 1];
        System.arraycopy(signature, 0, bits, 1, signature.length);
        byte[] certificate = der(0x30, tbs, algorithmId, der(0x03, bits));
        return (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(certificate));
    }

    static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (byte) values[i];
        return out;
    }

    /** One DER TLV of the parts, concatenated. */
    static byte[] der(int tag, byte[]... parts) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] part : parts) body.writeBytes(part);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int length = body.size();
        if (length < 0x80) {
            out.write(length);
        } else if (length < 0x100) {
            out.write(0x81);
            out.write(length);
        } else {
            out.write(0x82);
            out.write(length >> 8);
            out.write(length & 0xff);
        }
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }
}
