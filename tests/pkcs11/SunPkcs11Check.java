// Compiled and run by tests/pkcs11.rs: the JCE path of Azure's seed.
// OpenJDK's SunPKCS11 provider, configured with the module, generates RSA
// and EC key pairs on the token (logged in implicitly through
// azcloudhsm_password), signs with them, and the JDK's own providers
// verify the signatures.
import java.security.*;
import java.security.interfaces.*;
import java.security.spec.*;

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
        System.out.println("SunPKCS11 OK");
    }
}
